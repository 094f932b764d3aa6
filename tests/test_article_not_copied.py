"""No text in the repository may copy the ankle-pain article that the advice is based on.

All advice and safety text must be written in our own words. This test compares every run of
8 consecutive words (lowercased, punctuation stripped) of the article with every text file in
the repository and fails on any shared run, listing it with the file it was found in.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

SHINGLE = 8
REPO = Path(__file__).resolve().parents[1]
ARTICLE = REPO.parent / "shared" / "reference" / "ankle-pain-article.txt"
THIS = Path(__file__).resolve()

SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "env",
    ".env",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".tox",
    ".nox",
    "build",
    "dist",
    "site-packages",
    ".eggs",
}
MAX_BYTES = 5_000_000  # larger files are data (videos, models, landmark dumps), not prose

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def words(text: str) -> list[str]:
    """Lowercase, drop apostrophes ("it's" -> "its"), turn other punctuation into spaces."""
    text = _APOSTROPHES.sub("", text.lower())
    return _NON_WORD.sub(" ", text).split()


def shingles(text: str, n: int = SHINGLE) -> set[tuple[str, ...]]:
    w = words(text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def text_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d
            for d in dirnames
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not (Path(dirpath, d) / "pyvenv.cfg").exists()
        ]
        for name in filenames:
            p = Path(dirpath, name)
            if p.resolve() == THIS or p.is_symlink():
                continue
            try:
                if p.stat().st_size > MAX_BYTES:
                    continue
                data = p.read_bytes()
            except OSError:
                continue
            if b"\0" in data[:8192]:
                continue  # binary
            try:
                yield p, data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # not text we wrote


def shared_runs(article: str, root: Path) -> list[str]:
    art = shingles(article)
    hits = []
    for path, text in text_files(root):
        for sh in sorted(shingles(text) & art):
            hits.append(f"{path.relative_to(root)}: '{' '.join(sh)}'")
    return hits


def test_checker_catches_a_copied_sentence(tmp_path):
    article = "Rest days matter. The quick brown fox jumps over the lazy sleeping dog today."
    (tmp_path / "ok.md").write_text("The quick brown fox jumps over a dog.", encoding="utf-8")
    assert shared_runs(article, tmp_path) == []
    # punctuation and case do not hide a copy
    (tmp_path / "copy.py").write_text(
        '# THE QUICK, brown fox -- jumps over the "lazy" sleeping dog\n', encoding="utf-8"
    )
    hits = shared_runs(article, tmp_path)
    assert hits and all(h.startswith("copy.py") for h in hits)
    # binary files are skipped
    (tmp_path / "blob.bin").write_bytes(b"\0" + article.encode())
    assert len(shared_runs(article, tmp_path)) == len(hits)


def test_article_not_copied():
    if not ARTICLE.is_file():
        pytest.skip(
            f"article not available at {ARTICLE} (shared/ is beside the repo only "
            "on development machines and CI)"
        )
    article = ARTICLE.read_text(encoding="utf-8", errors="replace")
    assert len(words(article)) > 500, "article text looks truncated"
    hits = shared_runs(article, REPO)
    assert not hits, (
        f"{len(hits)} run(s) of {SHINGLE} words copied from the article; rewrite in your own "
        "words:\n" + "\n".join(hits[:50])
    )
