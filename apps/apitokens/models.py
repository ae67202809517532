"""Personal API tokens (django-rest-knox's token, swapped in by ``KNOX_TOKEN_MODEL``).

Only a SHA-512 digest of a key is stored, with the key's first characters to find the row;
the key itself is shown once, when it is made. A token ends at ``expiry``; revoking one
deletes its row.
"""

from django.db import models
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    # knox keys its table by the digest; a plain id is what lists, links and the API show,
    # so nothing derived from a key leaves the database.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True)
    expiry = models.DateTimeField()  # every token ends (knox allows none)
    name = models.CharField(max_length=100)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"
