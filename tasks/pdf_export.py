"""PDF from the report document by LibreOffice headless, or a Vietnamese reason why not."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SOFFICE_ENV = "P135_SOFFICE"
TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class PdfOutcome:
    path: Path | None
    note_vi: str | None = None


PDF_OFF_VI = f"Không lập bản PDF: {SOFFICE_ENV} được đặt rỗng (tắt bản PDF)."


def pdf_switched_off() -> bool:
    """$P135_SOFFICE set, and empty: the office asked for no PDF."""
    configured = os.environ.get(SOFFICE_ENV)
    return configured is not None and not configured.strip()


def soffice_path() -> str | None:
    """$P135_SOFFICE (empty: no PDF), else `soffice` on the PATH."""
    configured = os.environ.get(SOFFICE_ENV)
    if configured is not None:
        return configured.strip() or None
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(source: Path, target: Path, soffice: str | None, timeout: int = TIMEOUT_SECONDS) -> PdfOutcome:
    """Convert `source` (.docx or .xlsx) into `target`; each run in its own LibreOffice profile."""
    if not soffice:
        return PdfOutcome(None, "Không tìm thấy LibreOffice (soffice) trên máy này nên không lập bản PDF.")
    source, target = Path(source).resolve(), Path(target).resolve()
    with tempfile.TemporaryDirectory(prefix="p135-pdf-") as tmp:
        work = Path(tmp)
        out = work / "out"
        # `timeout -k`: LibreOffice's oosplash wrapper can outlive a plain timeout.
        command = [
            "timeout", "-k", "10", str(timeout), soffice, "--headless", "--norestore", "--nolockcheck",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--convert-to", "pdf", "--outdir", str(out), str(source),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work,
                                  env={**os.environ, "HOME": str(work)})
        except OSError as exc:
            return PdfOutcome(None, f"Không chạy được LibreOffice ({exc.strerror or exc}) nên không lập bản PDF.")
        produced = out / f"{source.stem}.pdf"
        if done.returncode in (124, 137):
            return PdfOutcome(None, f"LibreOffice không chuyển xong sau {timeout} giây nên không lập bản PDF.")
        if done.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            reason = "thiếu LibreOffice Writer" if "no export filter" in (done.stderr + done.stdout).lower() else f"mã lỗi {done.returncode}"
            return PdfOutcome(None, f"LibreOffice không chuyển được tệp sang PDF ({reason}) nên không lập bản PDF.")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp_target = target.with_name(target.name + ".tmp")
        shutil.move(str(produced), tmp_target)
        tmp_target.replace(target)
    return PdfOutcome(target)
