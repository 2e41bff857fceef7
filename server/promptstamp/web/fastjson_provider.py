"""Flask's JSON answers through the fast encoder: an array post's answer carries every receipt, and
the standard library's encoder was a tenth of a worker's time under array load."""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

from .. import fastjson


class FastJsonProvider(DefaultJSONProvider):
    """Sorted keys, compact, UTF-8 (as before); anything the fast encoder cannot hold (a date, a set)
    goes the standard library's way with Flask's conversions."""

    sort_keys = True

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return fastjson.dumps(obj, sort_keys=True).decode()
        except TypeError:
            return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = fastjson.dumps(obj, sort_keys=True)
        except TypeError:
            return super().response(*args, **kwargs)
        response: Response = self._app.response_class(body + b"\n", mimetype=self.mimetype)  # type: ignore[arg-type]
        return response
