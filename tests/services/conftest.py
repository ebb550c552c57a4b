import pytest

from cpp_plans.app import create_app as create_plans_app


@pytest.fixture
def plans_app(make_settings):
    return create_plans_app(make_settings("plans"))


@pytest.fixture
def plans(plans_app):
    return plans_app.test_client()


@pytest.fixture
def plans_store(plans_app):
    return plans_app.extensions["cpp"].store
