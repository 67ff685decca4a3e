"""Published versions of a year's report: read the latest, record a new one in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, insert, select

from reporting.periods import LOCAL_TZ
from warehouse.load import bulk_insert
from warehouse.models import Publication, PublicationFigure, PublicationSubmission


@dataclass(frozen=True)
class PublishedVersion:
    publication_id: int
    year: int
    version: int
    published_at: dt.datetime
    basis_sha256: str
    programme_sha256: str
    draft_quarters: tuple[int, ...]
    file_stem: str
    docx_sha256: str
    xlsx_sha256: str
    pdf_sha256: str | None
    figures: list[dict[str, Any]] = field(default_factory=list)
    submissions: list[tuple[str, int, str]] = field(default_factory=list)
    # The number it was issued under (an official version since revision 0014), else None.
    document_number: str | None = None
    # The date printed on it when one was given (revision 0017), else None.
    document_date: dt.date | None = None

    def dated(self) -> dt.date:
        """The date its document bears: the one given, else the day it was published (local time)."""
        return self.document_date or self.published_at.astimezone(LOCAL_TZ).date()


def _quarters(text: str | None) -> tuple[int, ...]:
    return tuple(int(q) for q in text.split(",")) if text else ()


def latest_publication(engine: Engine, year: int, official: bool = False) -> PublishedVersion | None:
    """The highest version published for `year` (the highest official one, not a draft, when
    `official`), with its headline figures; None if there is none."""
    chosen = select(Publication).where(Publication.year == year)
    if official:
        chosen = chosen.where(Publication.draft_quarters.is_(None))
    with engine.connect() as conn:
        row = conn.execute(chosen.order_by(Publication.version.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        figures = conn.execute(
            select(PublicationFigure).where(PublicationFigure.publication_id == row["publication_id"])
            .order_by(PublicationFigure.position)
        ).mappings().all()
    published_at = row["published_at"]
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=dt.timezone.utc)
    with engine.connect() as conn:
        used = conn.execute(
            select(PublicationSubmission.unit_code, PublicationSubmission.quarter, PublicationSubmission.file_sha256)
            .where(PublicationSubmission.publication_id == row["publication_id"])
        ).all()
    return PublishedVersion(
        publication_id=row["publication_id"], year=row["year"], version=row["version"],
        published_at=published_at, basis_sha256=row["basis_sha256"], programme_sha256=row["programme_sha256"],
        draft_quarters=_quarters(row["draft_quarters"]), file_stem=row["file_stem"],
        docx_sha256=row["docx_sha256"], xlsx_sha256=row["xlsx_sha256"], pdf_sha256=row["pdf_sha256"],
        figures=[dict(f) for f in figures],
        submissions=[tuple(u) for u in used],
        document_number=row.get("document_number"),
        document_date=row.get("document_date"),
    )


@dataclass(frozen=True)
class OfficialFigures:
    """A year's latest official version, as the next year's report compares with it."""

    year: int
    version: int
    published_at: dt.datetime
    values: dict[str, float | None]


def official_figures(engine: Engine, year: int) -> OfficialFigures | None:
    """The headline figures of `year`'s latest official version (a draft is not compared with), by
    metric code; None when the year has none."""
    with engine.connect() as conn:
        latest = conn.execute(
            select(Publication.publication_id, Publication.version, Publication.published_at)
            .where(Publication.year == year, Publication.draft_quarters.is_(None))
            .order_by(Publication.version.desc()).limit(1)
        ).first()
        if latest is None:
            return None
        values = dict(conn.execute(
            select(PublicationFigure.metric_code, PublicationFigure.value)
            .where(PublicationFigure.publication_id == latest.publication_id)
        ).all())
    published_at = latest.published_at
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=dt.timezone.utc)
    return OfficialFigures(year, latest.version, published_at, values)


def count_publications(engine: Engine, year: int) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Publication).where(Publication.year == year)).scalar_one()


def record_publication(
    engine: Engine,
    publication: dict[str, Any],
    figures: list[dict[str, Any]],
    submissions: list[dict[str, Any]],
) -> int:
    """Insert a publication with its figures and the submissions used; return its id. The
    submissions (a quarter of a million rows at national volume) go in by COPY on PostgreSQL."""
    row = dict(publication)
    quarters = row.pop("draft_quarters", ())
    row["draft_quarters"] = ",".join(str(q) for q in sorted(quarters)) or None
    with engine.begin() as conn:
        publication_id = conn.execute(
            insert(Publication).values(**row).returning(Publication.publication_id)
        ).scalar_one()
        if figures:
            conn.execute(insert(PublicationFigure), [{**f, "publication_id": publication_id} for f in figures])
        bulk_insert(conn, PublicationSubmission.__table__, [{**s, "publication_id": publication_id} for s in submissions])
    return publication_id
