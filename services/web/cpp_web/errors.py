"""What a person sees when something goes wrong: GOV.UK error pages, never
a stack trace and never a 500 for a service that is down."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from cpp_shared import logs

from .client import Forbidden, NotFound, Refused, ServiceError, ServiceUnavailable, SignInAgain
from .views import SESSION_ENDED, end_session

log = logs.get_logger("cpp.web")


def install(app: Flask) -> None:
    @app.errorhandler(ServiceUnavailable)
    def unavailable(exc: ServiceUnavailable):
        log.warning("service unavailable", service=exc.service, status=exc.status, error=exc.message)
        response = app.make_response((render_template("errors/unavailable.html", error=exc), 503))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(SignInAgain)
    def sign_in_again(exc: SignInAgain):
        end_session()
        flash(SESSION_ENDED, "expired")
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))

    @app.errorhandler(Forbidden)
    def forbidden(exc: Forbidden):
        return render_template("errors/forbidden.html", error=exc), 403

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return render_template("errors/not_found.html"), 404

    @app.errorhandler(Refused)
    def refused(exc: Refused):  # a step not allowed now, where no form shows it in place
        return render_template("errors/refused.html", error=exc), 409

    @app.errorhandler(ServiceError)
    def other_answer(exc: ServiceError):
        log.error("unexpected answer from a service", service=exc.service, status=exc.status, error=exc.message)
        return render_template("errors/problem.html"), 500

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError):
        return render_template("errors/form_expired.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 404:
            return render_template("errors/not_found.html"), 404
        if exc.code == 405:
            return render_template("errors/not_found.html"), 405
        return render_template("errors/problem.html", status=exc.code, description=exc.description), exc.code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return render_template("errors/problem.html"), 500
