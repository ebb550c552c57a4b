"""Fixtures shared by every test level: ``data_dir``, ``make_settings`` and ``token_for`` come from the
platform's pytest plugin (``cpp_shared.testing.plugin``, installed with ``cpp-shared[testing]``)."""
