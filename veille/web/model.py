"""Model page: the current model card, figures, corrections since training, retrain, history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from veille.web.auth import require_curator
from veille.web.render import renderer

router = APIRouter(dependencies=[Depends(require_curator)])


@router.get("/model")
def model_page(request: Request) -> Response:
    return renderer(request).page(request, "model.html")
