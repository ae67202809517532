"""Enroll existing accounts in a playbook, in bulk.

A team that starts with Afterwin already has customers, and a programme (quarterly
business reviews, a relationship survey) must reach them too, not only deals won from now
on. A bulk run takes the accounts matching a filter, skips those the playbook's enrollment
policy refuses, and enrolls the others in chunks: one multi-row insert of enrollments and
one of their first step runs per chunk, each step's timing computed here. The step runs
are rows in state pending; the dispatcher runs them when they are due, as for any other
enrollment.

- **Idempotent.** Every enrollment of a run has the run's own ``playbook.bulk_enrolled``
  event as its trigger event (the ``one_enrollment_per_trigger`` key), and the run's cursor
  (``last_account_id``; accounts are taken in id order) moves in the transaction that
  writes a chunk. A repeated message continues where the run stands; a second run skips
  the accounts the first one enrolled.
- **Customer since** is the close date of the account's earliest won deal. An account
  without a won deal has no such date, so a "customer since" filter leaves it out.
- **Churned accounts are never enrolled**: churning cancelled their playbooks.
- The enrollment's deal is the account's latest won deal (or none), as for an account
  event; the playbook's own trigger filters do not apply, the run's filter does.

``filters`` reads and checks a filter, ``selectors`` counts what a run would do,
``services`` starts, resumes and runs it; this module re-exports what the others use.
"""

from apps.engine.bulk.filters import (
    ENROLLABLE_LIFECYCLES,
    FILTER_FIELDS,
    AccountFilter,
    account_filter_from_data,
)
from apps.engine.bulk.selectors import (
    MAX_SPREAD_BUSINESS_DAYS,
    SKIP_REASONS,
    BulkPreview,
    BulkRequest,
    account_countries,
    account_segments,
    accounts_matching,
    bulk_enrollment_preview,
    bulk_enrollment_summary,
    bulk_request_check,
)
from apps.engine.bulk.services import (
    BULK_ENROLLED_EVENT,
    CHUNK_SIZE,
    bulk_enrollment_resume,
    bulk_enrollment_run,
    bulk_enrollment_start,
)

__all__ = [
    "BULK_ENROLLED_EVENT",
    "CHUNK_SIZE",
    "ENROLLABLE_LIFECYCLES",
    "FILTER_FIELDS",
    "MAX_SPREAD_BUSINESS_DAYS",
    "SKIP_REASONS",
    "AccountFilter",
    "BulkPreview",
    "BulkRequest",
    "account_countries",
    "account_filter_from_data",
    "account_segments",
    "accounts_matching",
    "bulk_enrollment_preview",
    "bulk_enrollment_resume",
    "bulk_enrollment_run",
    "bulk_enrollment_start",
    "bulk_enrollment_summary",
    "bulk_request_check",
]
