from celery import shared_task

from apps.apitokens.services import api_tokens_delete_expired


@shared_task(name="apitokens.delete_expired")
def delete_expired_api_tokens() -> int:
    """Daily: delete tokens past their expiry (they are refused already)."""
    return api_tokens_delete_expired()
