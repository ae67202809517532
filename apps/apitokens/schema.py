"""How the OpenAPI schema describes token authentication (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.apitokens.authentication.TokenAuthentication"
    name = "tokenAuth"  # the name DRF's token scheme had, so clients' configs still fit

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.authenticate_header(None)
        )
        scheme["description"] = (
            "An API token from POST /api/auth/token/ or the Preferences page, sent as "
            "`Authorization: Token <key>`. Tokens expire; an expired or revoked one gets 401."
        )
        return scheme
