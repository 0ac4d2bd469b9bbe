"""The InvokeEndpoint steps that touch the payload: parse -> score -> render.

One path for every request, small or large: `payloads.parse_request` is the only parser
(CSV included — `payloads.parse_csv` is the one home of CSV parsing), then one row answered
as JSON is scored in pure Python by the variant's `RowScorer` (no numpy call overhead) and
rendered by `payloads.render_one_json`; anything else is scored by
`training.inference.score_matrix` and rendered by `payloads.render`. The row scorer returns
None for what only the numpy path may decide (non-finite values), so the errors stay the
shared implementation's. Runs on the event loop for small bodies and in the worker pool for
big ones (`runtime.InvocationHandler`); it holds no state, so either is safe.
"""

from __future__ import annotations

from emulator.sagemaker import payloads
from emulator.sagemaker.serving import ServingVariant
from training.inference import score_matrix


def predict(variant: ServingVariant, media: str, response_type: str, body: bytes) -> bytes:
    """The response body for `body`; raises payloads.PayloadError or InferenceInputError."""
    model = variant.model
    matrix = payloads.parse_request(media, body, model.feature_dim)  # parse
    if response_type == payloads.JSON and matrix.shape == (1, model.feature_dim):
        scored = variant.scorer.score(matrix[0].tolist())  # score (one row)
        if scored is not None:
            return payloads.render_one_json(*scored)  # render (one row)
    scores, labels = score_matrix(model, matrix)  # score
    return payloads.render(response_type, scores, labels)  # render
