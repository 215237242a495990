"""schemathesis hooks for ``make fuzz``: order lines that name real variants.

Generated variant ids almost never exist, so without help nearly every
``POST /orders/`` is refused and the stateful phase never reaches the
order's own operations (read, pay, cancel). Here half of the schema-valid
bodies get their lines pointed at the seeded variants (``FUZZ_VARIANTS``,
set by fuzz/run.py), one each, quantity 1. Bodies that are not valid stay
exactly as generated.
"""

import os

import schemathesis
from hypothesis import strategies as st

VARIANTS = [int(v) for v in os.environ.get("FUZZ_VARIANTS", "").split(",") if v]


def _lines(body) -> list | None:
    lines = body.get("items") if isinstance(body, dict) else None
    if not isinstance(lines, list) or not 1 <= len(lines) <= len(VARIANTS):
        return None
    if not all(isinstance(line, dict) for line in lines):
        return None
    return lines


@schemathesis.hook
def flatmap_body(context, body):
    operation = context.operation
    lines = _lines(body)
    if (
        operation is None
        or (operation.method.upper(), operation.path) != ("POST", "/orders/")
        or lines is None
    ):
        return st.just(body)

    def seeded(variants):
        return {
            **body,
            "items": [
                {**line, "variant": variant, "quantity": 1}
                for line, variant in zip(lines, variants, strict=True)
            ],
        }

    picks = st.lists(
        st.sampled_from(VARIANTS), min_size=len(lines), max_size=len(lines), unique=True
    )
    return st.one_of(st.just(body), picks.map(seeded))
