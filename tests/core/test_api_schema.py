from django.core.management import call_command


def test_openapi_schema_generates_without_warnings(tmp_path):
    schema = tmp_path / "schema.yml"

    # --fail-on-warn turns any drf-spectacular warning (an unresolvable field, a
    # duplicated enum name) into an error, and --validate checks it against OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(schema))

    text = schema.read_text()
    assert "/api/deals/{id}/transitions/{transition}/" in text
    assert "/api/tasks/" in text
