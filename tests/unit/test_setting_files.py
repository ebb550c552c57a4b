"""Every setting may be given as a file (CPP_X_FILE, docker compose's
secrets): the value is the file's content without its trailing newline, for
the shared settings (from_env) and each service's own (Settings.setting)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from cpp_shared.config import ConfigError, Settings

BASE = {"CPP_MODE": "development", "CPP_PLUGINS": "england"}


def secret(tmp_path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content)
    return str(path)


def test_the_shared_secrets_are_read_from_their_files(tmp_path):
    env = {
        **BASE,
        "CPP_BROKER_URL_FILE": secret(tmp_path, "broker", "amqp://cpp:s3cret@rabbitmq:5672/cpp\n"),
        "CPP_STORE_URL_FILE": secret(tmp_path, "store", "sqlite:////data/plans.db\n\n"),
    }
    settings = Settings.from_env("plans", env)
    assert settings.broker_url == "amqp://cpp:s3cret@rabbitmq:5672/cpp"
    assert settings.store_url == "sqlite:////data/plans.db"


def test_a_service_s_own_name_with_file_comes_before_the_general_one(tmp_path):
    env = {
        **BASE,
        "CPP_STORE_URL": "sqlite:////general.db",
        "CPP_DOCS_STORE_URL_FILE": secret(tmp_path, "docs", "sqlite:////docs.db\n"),
    }
    assert Settings.from_env("docs", env).store_url == "sqlite:////docs.db"
    assert Settings.from_env("plans", env).store_url == "sqlite:////general.db"


def test_a_service_setting_is_read_from_its_file_only_the_trailing_newline_going(tmp_path):
    env = {
        **BASE,
        "CPP_NOTIFY_SMTP_PASSWORD_FILE": secret(tmp_path, "smtp", "  pass word \n"),
        "CPP_WEB_OIDC_CLIENT_SECRET_FILE": secret(tmp_path, "oidc", "client-secret\r\n"),
    }
    assert Settings.from_env("notify", env).setting("SMTP_PASSWORD") == "  pass word "
    assert Settings.from_env("web", env).setting("OIDC_CLIENT_SECRET") == "client-secret"
    assert Settings.from_env("plans", env).setting("SMTP_PASSWORD", "none") == "none"


def test_the_notify_secrets_key_from_a_file_opens_what_it_sealed(tmp_path):
    from cpp_notify.secretbox import SecretBox

    key = Fernet.generate_key().decode()
    env = {**BASE, "CPP_MODE": "production", "CPP_NOTIFY_SECRETS_KEY_FILE": secret(tmp_path, "key", key + "\n")}
    sealed = SecretBox.for_settings(Settings.from_env("notify", env)).seal("webhook secret")
    assert Fernet(key.encode()).decrypt(sealed.encode()) == b"webhook secret"


def test_the_web_secret_key_is_the_file_s_content(tmp_path):
    from cpp_web.app import secret_key

    env = {
        **BASE,
        "CPP_DATA_DIR": str(tmp_path / "data"),
        "CPP_WEB_SECRET_KEY_FILE": secret(tmp_path, "web", "a-long-random-key\n"),
    }
    assert secret_key(Settings.from_env("web", env)) == "a-long-random-key"
    assert not (tmp_path / "data" / "web-secret.key").exists()


@pytest.mark.parametrize("name", ["CPP_BROKER_URL", "CPP_PLANS_BROKER_URL"])
def test_both_the_value_and_its_file_is_refused_naming_both(tmp_path, name):
    env = {**BASE, name: "amqp://a@b//", f"{name}_FILE": secret(tmp_path, "broker", "amqp://c@d//")}
    with pytest.raises(ConfigError, match=f"both {name} and {name}_FILE are set"):
        Settings.from_env("plans", env)


def test_both_forms_of_a_service_setting_are_refused(tmp_path):
    env = {**BASE, "CPP_NOTIFY_SECRETS_KEY": "k", "CPP_NOTIFY_SECRETS_KEY_FILE": secret(tmp_path, "key", "k")}
    settings = Settings.from_env("notify", env)
    with pytest.raises(ConfigError, match="both CPP_NOTIFY_SECRETS_KEY and CPP_NOTIFY_SECRETS_KEY_FILE"):
        settings.setting("SECRETS_KEY")


def test_a_missing_file_is_refused_naming_the_setting_and_the_path(tmp_path):
    missing = tmp_path / "no-such-secret"
    with pytest.raises(
        ConfigError, match=f"CPP_STORE_URL_FILE names {missing}, which cannot be read: No such file or directory"
    ):
        Settings.from_env("plans", {**BASE, "CPP_STORE_URL_FILE": str(missing)})


def test_a_file_that_cannot_be_read_is_refused(tmp_path):
    """(A folder, and bytes that are not text: permissions cannot be tested
    as root, who reads any file.)"""
    with pytest.raises(ConfigError, match=f"CPP_NOTIFY_SECRETS_KEY_FILE names {tmp_path}, which cannot be read"):
        Settings.from_env("notify", {**BASE, "CPP_NOTIFY_SECRETS_KEY_FILE": str(tmp_path)}).setting("SECRETS_KEY")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=f"CPP_BROKER_URL_FILE names {binary}, which cannot be read"):
        Settings.from_env("plans", {**BASE, "CPP_BROKER_URL_FILE": str(binary)})


def test_an_empty_file_leaves_the_setting_unset_as_an_empty_variable_does(tmp_path):
    env = {**BASE, "CPP_NOTIFY_SMTP_PASSWORD_FILE": secret(tmp_path, "smtp", "\n"), "CPP_NOTIFY_SMTP_PASSWORD": ""}
    assert Settings.from_env("notify", env).setting("SMTP_PASSWORD") is None


def test_settings_that_are_paths_have_no_file_form(tmp_path):
    """CPP_AUDIT_CHECKPOINT_KEY_FILE is the key's path: no _FILE_FILE is read."""
    env = {
        **BASE,
        "CPP_AUDIT_CHECKPOINT_KEY_FILE": "/run/secrets/audit_checkpoint_key",
        "CPP_AUDIT_CHECKPOINT_KEY_FILE_FILE": str(tmp_path / "missing"),
    }
    settings = Settings.from_env("plans", env)
    assert settings.setting("AUDIT_CHECKPOINT_KEY_FILE") == "/run/secrets/audit_checkpoint_key"


def test_at_start_every_setting_file_must_be_readable_but_those_the_platform_writes(tmp_path):
    from cpp_shared.config import check_setting_files

    present = secret(tmp_path, "present", "x")
    missing = str(tmp_path / "missing")
    env = {"CPP_BROKER_URL_FILE": present, "CPP_WORKER_HEARTBEAT_FILE": missing, "CPP_DEV_SIGNING_KEY_FILE": missing}
    check_setting_files(env, development=False)
    with pytest.raises(ConfigError, match=f"CPP_WEB_SECRET_KEY_FILE names {missing}, which cannot be read"):
        check_setting_files({**env, "CPP_WEB_SECRET_KEY_FILE": missing}, development=False)
    with pytest.raises(ConfigError, match="CPP_EXTRA_FILE names"):
        check_setting_files({**env, "CPP_EXTRA_FILE": str(tmp_path)}, development=False)  # a folder is no file
    # keys made on first use: only in development may they be missing
    made = {**env, "CPP_AUDIT_CHECKPOINT_KEY_FILE": missing, "CPP_TRANSFER_SIGNING_KEY_FILE": missing}
    check_setting_files(made, development=True)
    with pytest.raises(ConfigError, match="CPP_AUDIT_CHECKPOINT_KEY_FILE"):
        check_setting_files(made, development=False)
