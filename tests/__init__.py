"""The platform's tests (a regular package, so that no installed package named
``tests`` can stand in for it)."""
