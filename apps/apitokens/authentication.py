"""``Authorization: Token <key>`` against hashed, expiring tokens (django-rest-knox)."""

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication

from apps.apitokens.services import api_token_mark_used


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's check of the key's digest, plus the token's last use (at most one write a
    minute). An expired token is refused; it stays listed nowhere and the daily purge
    deletes it."""

    def _cleanup_token(self, auth_token) -> bool:
        # knox reads all of the user's tokens on every request to delete expired ones; a
        # request needs only its own token's expiry, and the purge task does the rest.
        return auth_token.expiry is not None and auth_token.expiry <= timezone.now()

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        api_token_mark_used(token=token)
        return user, token
