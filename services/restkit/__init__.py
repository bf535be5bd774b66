"""The REST conventions both Touchstone services share.

Problem documents for every error (:mod:`.problems`), request ids, body and content-type limits, request
logging and metrics (:mod:`.middleware`), structured logging without PHI (:mod:`.logging`) and the health
endpoints (:mod:`.health`).
"""

from services.restkit.health import health_router
from services.restkit.logging import bind_principal, configure_logging
from services.restkit.middleware import install_middleware
from services.restkit.problems import ProblemSpec, install_problem_handlers, problem_response, responses_for

__all__ = [
    "ProblemSpec",
    "bind_principal",
    "configure_logging",
    "health_router",
    "install_middleware",
    "install_problem_handlers",
    "problem_response",
    "responses_for",
]
