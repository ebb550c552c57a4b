"""`cpp token`: a development token that names its user as a person, signed
with the key the services use, and never one signed by a key they lack."""

from __future__ import annotations

import jwt
from click.testing import CliRunner

from cpp_shared.auth import TokenVerifier, load_dev_key
from cpp_shared.cli import main


def env(data_dir) -> dict[str, str]:
    return {"CPP_MODE": "development", "CPP_DATA_DIR": str(data_dir), "CPP_PLUGINS": "england"}


def test_a_data_folder_without_a_key_is_refused_and_named(tmp_path):
    empty = tmp_path / "elsewhere"
    run = CliRunner().invoke(main, ["token", "--role", "social_worker"], env=env(empty))
    assert run.exit_code == 2 and run.stdout == ""
    assert "no development signing key" in run.stderr and str(empty.resolve()) in run.stderr
    assert not (empty / "dev-signing.key").exists()  # no second key made


def test_a_token_names_the_user_and_the_data_folder_it_was_signed_for(tmp_path, make_settings):
    data = tmp_path / "var"
    load_dev_key(data / "dev-signing.key")  # as the services made it on their first start
    run = CliRunner().invoke(
        main,
        [
            "token",
            "--role",
            "team_manager",
            "--user",
            "tm-7",
            "--name",
            "Tia Manager",
            "--email",
            "Tia@Council.Example",
            "--team",
            "Area North",
            "--manager",
            "hd-1",
        ],
        env=env(data),
    )
    assert run.exit_code == 0, run.stderr
    assert f"signed with the development key in {data.resolve()}" in run.stderr
    token = run.stdout.strip()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["name"], claims["email"], claims["team"], claims["manager"]) == (
        "tm-7",
        "Tia Manager",
        "Tia@Council.Example",
        "Area North",
        "hd-1",
    )
    principal = TokenVerifier(make_settings(CPP_DATA_DIR=str(data))).verify(token)
    assert (principal.name, principal.email, principal.team) == ("Tia Manager", "tia@council.example", "Area North")


def test_a_token_may_hold_several_roles(tmp_path, make_settings):
    data = tmp_path / "var"
    load_dev_key(data / "dev-signing.key")
    run = CliRunner().invoke(
        main, ["token", "--role", "team_manager", "--also", "social_worker", "--also", "chair"], env=env(data)
    )
    assert run.exit_code == 0, run.stderr
    principal = TokenVerifier(make_settings(CPP_DATA_DIR=str(data))).verify(run.stdout.strip())
    assert (principal.role, principal.roles) == ("social_worker", ("social_worker", "team_manager", "chair"))
    wrong = CliRunner().invoke(main, ["token", "--role", "chair", "--also", "superuser"], env=env(data))
    assert wrong.exit_code == 2 and "unknown role 'superuser'" in wrong.stderr
