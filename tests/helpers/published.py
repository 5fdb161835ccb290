"""A published-values table built in memory, for claims tests on made-up runs."""

from deepftle.pipeline.published import PUBLISHED_COLUMNS, Published


def published(rows) -> Published:
    """``rows``: (figure, quantity, L, N, value, read_error) tuples (None where L or N does
    not apply)."""
    out = []
    for figure, quantity, L, N, value, read_error in rows:
        row = dict.fromkeys(PUBLISHED_COLUMNS, "")
        row.update(
            figure=figure,
            panel="",
            quantity=quantity,
            L=L,
            N=N,
            x=None,
            value=float(value),
            read_error=float(read_error),
        )
        out.append(row)
    return Published("made-up table", tuple(out))
