import pytest

from cpp_plans.app import create_app as create_plans_app
from tests.helpers import bearer


@pytest.fixture
def plans_app(make_settings):
    return create_plans_app(make_settings("plans"))


@pytest.fixture
def plans(plans_app):
    return plans_app.test_client()


@pytest.fixture
def plans_store(plans_app):
    return plans_app.extensions["cpp"].store


# Shorter names used by the resource tests.
@pytest.fixture
def app(plans_app):
    return plans_app


@pytest.fixture
def client(plans):
    return plans


@pytest.fixture
def store(plans_store):
    return plans_store


@pytest.fixture
def sw(token_for):
    """A social worker's Authorization header."""
    return bearer(token_for("social_worker", user="sw-1"))
