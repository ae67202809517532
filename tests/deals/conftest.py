import pytest

from tests.factories import UserFactory


@pytest.fixture
def sales_manager(db):
    return UserFactory(username="sally", role="Sales Manager")


@pytest.fixture
def other_rep(db):
    """A rep who does not own the deals the tests give ``rep``."""
    return UserFactory(username="ron", role="Sales Rep")
