from django.conf import settings
from django.db import models

from apps.core import clock
from apps.customers.models import Account


class AccountNote(models.Model):
    """A note a staff member wrote on an account. A record: it is never edited or deleted
    from the product; a correction is another note."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="accountnote_account_idx")]

    def __str__(self) -> str:
        return f"Note on {self.account} by {self.author}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Account notes are a record and cannot be edited.")
        super().save(*args, **kwargs)
