"""REST endpoints for moving running enrollments to another version of their playbook:
the dry run, starting a move, its progress, and the record of each enrollment's move.

The checks, the dry run and the run are the admin's (``apps.engine.moves``); these views
only read the request and write the answer."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.engine.models import EnrollmentMove, EnrollmentVersionChange
from apps.engine.moves import (
    CHANGE_LABELS,
    MAX_CANARY,
    enrollment_move_preview,
    enrollment_move_resume,
    enrollment_move_start,
    enrollment_move_summary,
    move_request_check,
)

# The dry run answers with the plans of the first enrollments only: the counts cover all.
PLANS_SHOWN = 25


# Request ------------------------------------------------------------------------------------


class ServiceCheckedChoiceField(serializers.ChoiceField):
    """A choice that ``move_request_check`` checks, so a bad one gets the same message as
    in the admin; the schema still lists the choices."""

    def to_internal_value(self, data: Any) -> str:
        return str(data)


class EnrollmentMoveRequestSerializer(serializers.Serializer):
    to_version = serializers.IntegerField(
        help_text="The published version (a playbook version id) to move enrollments to."
    )
    from_version = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Move only the enrollments on this version of the same playbook; "
        "null moves those on every other version.",
    )
    added_steps = ServiceCheckedChoiceField(
        choices=EnrollmentMove.AddedSteps.choices,
        required=False,
        default=EnrollmentMove.AddedSteps.FROM_START,
        help_text="A step the new version adds is timed as if it had been there from the "
        "enrollment's start; when that time has passed it runs now (from_start) or is "
        "timed from now (from_now).",
    )
    retimed_steps = ServiceCheckedChoiceField(
        choices=EnrollmentMove.RetimedSteps.choices,
        required=False,
        default=EnrollmentMove.RetimedSteps.RETIME,
        help_text="A step whose timing changed: re-time what is still to run (retime) or "
        "leave it as scheduled (leave).",
    )
    canary = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text=f"Move only the first N enrollments (1 to {MAX_CANARY}), in id order, to "
        "check on them before the rest; null moves every one.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Only say what the move would do; move nothing."
    )


# What happens to a step (the dry run's plans and the records share this shape) -------------


class RetimedRunSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    occurrence = serializers.IntegerField()
    was_due_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()


class CreatedRunSerializer(serializers.Serializer):
    occurrence = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    planned_at = serializers.DateTimeField()
    skipped = serializers.CharField(
        help_text="Why the run is written as skipped (a caught-up repetition's first "
        "occurrence); empty for a run that will run."
    )


class StepChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    change = serializers.ChoiceField(
        choices=list(CHANGE_LABELS.items()),
        help_text="Matched by key: kept (same timing), removed (only in the old version), "
        "added (only in the new one), retimed (its timing changed).",
    )
    outcome = serializers.CharField(help_text="What happens to the step, in words.")
    cancelled_runs = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the step runs cancelled."
    )
    retimed_runs = RetimedRunSerializer(many=True)
    created_runs = CreatedRunSerializer(many=True)
    kind_changed_runs = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of the runs still to run that now run as the new version's kind.",
    )


# The dry run --------------------------------------------------------------------------------


class EnrollmentPlanSerializer(serializers.Serializer):
    enrollment = serializers.IntegerField(source="enrollment.pk")
    account = serializers.IntegerField(source="enrollment.account_id")
    account_name = serializers.CharField(source="enrollment.account.name")
    deal = serializers.IntegerField(source="enrollment.deal_id", allow_null=True)
    state = serializers.CharField(source="enrollment.state", help_text="active or paused.")
    from_version = serializers.IntegerField(source="enrollment.version_id")
    from_version_number = serializers.IntegerField(source="enrollment.version.number")
    completes = serializers.BooleanField(
        help_text="Nothing is left to run after the move: the enrollment completes."
    )
    steps = StepChangeSerializer(many=True, source="as_record")


class StepCountsSerializer(serializers.Serializer):
    kept = serializers.IntegerField()
    removed = serializers.IntegerField()
    added = serializers.IntegerField()
    retimed = serializers.IntegerField()


class RunCountsSerializer(serializers.Serializer):
    scheduled = serializers.IntegerField(source="created")
    retimed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class EnrollmentMovePreviewSerializer(serializers.Serializer):
    playbook = serializers.IntegerField(source="request.to_version.playbook_id")
    playbook_name = serializers.CharField(source="request.to_version.playbook.name")
    to_version = serializers.IntegerField(source="request.to_version.pk")
    to_version_number = serializers.IntegerField(source="request.to_version.number")
    from_version = serializers.IntegerField(source="request.from_version.pk", allow_null=True)
    from_version_number = serializers.IntegerField(
        source="request.from_version.number", allow_null=True
    )
    added_steps = serializers.CharField(source="request.options.added_steps")
    retimed_steps = serializers.CharField(source="request.options.retimed_steps")
    canary = serializers.IntegerField(source="request.canary", allow_null=True)
    running = serializers.IntegerField(
        help_text="Running (active or paused) enrollments of the playbook that the move "
        "concerns, before a canary."
    )
    enrollments = serializers.IntegerField(
        source="to_move", help_text="Enrollments the move would move (a canary's first N)."
    )
    completing = serializers.IntegerField(
        help_text="Of those, enrollments that would complete: nothing left to run."
    )
    steps = StepCountsSerializer(
        source="counts", help_text="Steps kept, removed, added and re-timed, over them all."
    )
    runs = RunCountsSerializer(
        source="*", help_text="Step runs scheduled, re-timed and cancelled, over them all."
    )
    plans_count = serializers.IntegerField(
        source="to_move",
        help_text=f"How many plans there are; `plans` lists the first {PLANS_SHOWN}.",
    )
    plans = EnrollmentPlanSerializer(
        many=True, help_text="What the move does to each step of each enrollment."
    )


# Moves and their records --------------------------------------------------------------------


class EnrollmentMoveSerializer(serializers.ModelSerializer):
    playbook_name = serializers.CharField(source="playbook.name", read_only=True)
    to_version_number = serializers.IntegerField(source="to_version.number", read_only=True)
    from_version_number = serializers.IntegerField(
        source="from_version.number", read_only=True, allow_null=True
    )
    requested_by_username = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True
    )
    percent = serializers.IntegerField(read_only=True, help_text="How far the move is, 0–100.")
    summary = serializers.SerializerMethodField()

    class Meta:
        model = EnrollmentMove
        fields = [
            "id",
            "playbook",
            "playbook_name",
            "to_version",
            "to_version_number",
            "from_version",
            "from_version_number",
            "added_steps",
            "retimed_steps",
            "canary",
            "requested_by",
            "requested_by_username",
            "state",
            "total",
            "moved",
            "failed",
            "unchanged",
            "percent",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_summary(self, move: EnrollmentMove) -> str:
        return enrollment_move_summary(move)


class EnrollmentVersionChangeSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="enrollment.account_id", read_only=True)
    account_name = serializers.CharField(source="enrollment.account.name", read_only=True)
    from_version_number = serializers.IntegerField(source="from_version.number", read_only=True)
    to_version_number = serializers.IntegerField(source="to_version.number", read_only=True)
    moved_by_username = serializers.CharField(
        source="moved_by.username", read_only=True, allow_null=True
    )
    steps = StepChangeSerializer(
        many=True,
        read_only=True,
        help_text="What happened to each step; empty when the move failed.",
    )

    class Meta:
        model = EnrollmentVersionChange
        fields = [
            "id",
            "move",
            "enrollment",
            "account",
            "account_name",
            "outcome",
            "from_version",
            "from_version_number",
            "to_version",
            "to_version_number",
            "moved_by",
            "moved_by_username",
            "moved_at",
            "error",
            "steps",
        ]
        read_only_fields = fields


class MoveRecordsPermission(permissions.BasePermission):
    """A move's records need their own view permission besides the move's (CS Managers
    and Admins have both)."""

    required = ("engine.view_enrollmentmove", "engine.view_enrollmentversionchange")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perms(self.required))


class EnrollmentMoveViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Move running enrollments to another published version of their playbook, newest
    moves first. Starting one, its dry run included, needs the "add enrollment move"
    permission (the Admin role); watching moves and reading their records needs "view"
    (Admin and CS Manager roles)."""

    queryset = EnrollmentMove.objects.select_related(
        "playbook", "to_version", "from_version", "requested_by"
    )
    serializer_class = EnrollmentMoveSerializer
    filterset_fields = ["playbook", "to_version", "state"]
    ordering_fields = ["created_at"]

    @extend_schema(
        request=EnrollmentMoveRequestSerializer,
        responses={
            200: OpenApiResponse(
                EnrollmentMovePreviewSerializer,
                description="dry_run: what the move would do; nothing is changed.",
            ),
            202: OpenApiResponse(
                EnrollmentMoveSerializer, description="The move is queued; GET it for progress."
            ),
            400: OpenApiResponse(
                description="Bad input, keyed by field: to_version (unknown, or nothing to "
                "move to it), from_version (unknown, another playbook's, the target itself, "
                "or nothing running on it), added_steps, retimed_steps, canary. Nothing is "
                "created."
            ),
            403: OpenApiResponse(description="You may not move enrollments."),
        },
    )
    def create(self, request, *args, **kwargs):
        payload = EnrollmentMoveRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(payload.validated_data)
        if fields.pop("dry_run"):
            preview = enrollment_move_preview(
                request=move_request_check(**fields), limit=PLANS_SHOWN
            )
            return Response(EnrollmentMovePreviewSerializer(preview).data)
        move = enrollment_move_start(**fields, actor=request.user)
        return self._accepted(move)

    @extend_schema(
        request=None,
        responses={
            202: OpenApiResponse(
                EnrollmentMoveSerializer,
                description="The move is queued again and continues where it stood.",
            ),
            409: OpenApiResponse(description="The move is done; start a new one."),
        },
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, pk=None):
        """Continue a move that failed (or whose message was lost) from where it stood."""
        move = enrollment_move_resume(move=self.get_object(), actor=request.user)
        return self._accepted(self.get_queryset().get(pk=move.pk))

    @extend_schema(
        summary="Each enrollment's move: outcome, versions, who and when, what happened to "
        "each step; in enrollment id order",
        parameters=[
            OpenApiParameter(
                "outcome",
                str,
                enum=list(EnrollmentVersionChange.Outcome.values),
                description="Only the records with this outcome (failed: left on its "
                "version, with the error).",
            )
        ],
        responses=EnrollmentVersionChangeSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        permission_classes=[MoveRecordsPermission],
    )
    def changes(self, request, pk=None):
        move = self.get_object()
        records = move.changes.select_related(
            "enrollment__account", "from_version", "to_version", "moved_by"
        ).order_by("enrollment_id")
        outcome = request.query_params.get("outcome")
        if outcome is not None:
            if outcome not in EnrollmentVersionChange.Outcome.values:
                choices = ", ".join(EnrollmentVersionChange.Outcome.values)
                raise serializers.ValidationError({"outcome": [f"Choose one of: {choices}."]})
            records = records.filter(outcome=outcome)
        page = self.paginate_queryset(records)
        return self.get_paginated_response(EnrollmentVersionChangeSerializer(page, many=True).data)

    def _accepted(self, move: EnrollmentMove) -> Response:
        return Response(
            EnrollmentMoveSerializer(move).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("enrollmentmove-detail", args=[move.pk])},
        )
