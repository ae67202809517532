import pytest

from tests.services import app_broker, free_port, redis_server


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "status": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client):
    with app_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_healthz_checks_a_real_redis():
    from django.test import Client

    with redis_server() as redis, app_broker(redis.url):
        assert Client().get("/healthz").json()["broker"] == "ok"
