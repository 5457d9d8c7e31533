"""The demo's synthetic conversation about the sample plan (``bot/data/plans/sample.*.md``):
replies written for each section, in French and in English, and stances drawn from a stated
model with three opinion groups. Nothing in it comes from real people.

The model (seeded, so the files are the same on every run):

* 60 participants in three groups of opinion: A "connect everyone, publicly" (26 people),
  B "privacy and sobriety first" (18), C "let the local economy lead" (16).
* Each statement (the 8 sections and 3 replies under each) has, for each group, a level:
  ``H`` (agree 0.85, disagree 0.05), ``M`` (0.45, 0.25), ``L`` (0.08, 0.80) or ``P``
  (0.25, 0.15: many pass); the rest of each level's probability is a pass.
* Each participant sees each statement with probability 0.8 and then votes once, drawing
  agree, disagree or pass from their group's level for that statement.
* Replies appear over the first four days of a week, each by a member of the group that
  supports it most; votes fall after the reply they are about, spread over the week.

Written in Polis' export format (``comments.csv``, ``votes.csv``; agree 1, disagree -1, pass
0) so ``planbot import-polis`` reads it too, with two more columns in ``comments.csv``:
``section`` (the plan key of the statement's section) and ``role`` (``section`` for the
section itself, whose votes are stances on the section's message, or ``reply``). A section's
``comment-body`` is its French and English titles.

    python -m bot.synthetic bot/data/synthetic/maple-valley    # writes the bundled files
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.files import private_dir, write_csv
from bot.plans import load_plan, sample_plan_paths

SEED = 2030
GROUPS = (("A", 26), ("B", 18), ("C", 16))
LEVELS = {"H": (0.85, 0.05), "M": (0.45, 0.25), "L": (0.08, 0.80), "P": (0.25, 0.15)}
"""Level -> (P(agree), P(disagree)); a pass otherwise."""
SEEN = 0.8
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)

SECTIONS = (
    ("broadband", "HMH"), ("digital-skills", "HHH"), ("public-services", "MLH"),
    ("data-governance", "MHL"), ("cybersecurity", "HHM"), ("local-economy", "MLH"),
    ("inclusion", "HHH"), ("environment", "MHL"),
)
"""Plan order; each section's own levels for groups A, B, C."""

REPLIES = (
    ("broadband", "fr", "HHM", ("Brancher d’abord les rangs sans aucun service, avant d’accélérer "
     "les secteurs déjà desservis.")),
    ("broadband", "en", "HLL", ("Let the regional co-op own the fibre, so prices stay under "
     "public control.")),
    ("broadband", "fr", "HML", ("Un forfait social à 20 $ par mois pour les ménages à faible "
     "revenu.")),
    ("digital-skills", "en", "HHH", ("Free workshops at the public library on evenings and "
     "weekends.")),
    ("digital-skills", "fr", "HHM", ("Former des jeunes du coin comme « aidants numériques » "
     "pour les aînés.")),
    ("digital-skills", "en", "MLM", "Make coding classes mandatory in every primary school."),
    ("public-services", "fr", "HHH", ("Garder un comptoir en personne et un numéro de téléphone "
     "pour chaque service en ligne.")),
    ("public-services", "en", "MLH", ("Move every municipal permit online by 2027 to cut "
     "waiting times.")),
    ("public-services", "fr", "HLH", ("Une seule connexion citoyenne pour tous les services de "
     "la MRC.")),
    ("data-governance", "en", "HHM", ("Publish council budgets and contracts as open data every "
     "month.")),
    ("data-governance", "fr", "HHL", ("Aucune donnée personnelle vendue ni partagée avec des "
     "entreprises privées.")),
    ("data-governance", "en", "MLH", ("Let local start-ups use anonymised transit and energy "
     "data for free.")),
    ("cybersecurity", "fr", "HHM", ("Un audit de sécurité chaque année dans chaque "
     "municipalité.")),
    ("cybersecurity", "en", "HMH", ("One shared security team for the small towns instead of "
     "each hiring alone.")),
    ("cybersecurity", "fr", "HHH", ("Former tous les élus et les employés à reconnaître "
     "l’hameçonnage.")),
    ("local-economy", "en", "HMH", "Grants for local shops to build their online stores."),
    ("local-economy", "fr", "LLH", ("Attirer des centres de données avec des tarifs "
     "d’électricité réduits.")),
    ("local-economy", "en", "MPH", "Buy from local IT firms first in every public tender."),
    ("inclusion", "fr", "HHM", ("Tous les sites publics conformes aux normes d’accessibilité "
     "d’ici 2027.")),
    ("inclusion", "en", "HHM", "Lend refurbished laptops to families who cannot afford one."),
    ("inclusion", "fr", "MPL", ("Offrir chaque service aussi en anglais et en langues "
     "autochtones.")),
    ("environment", "en", "HHM", ("Repair and reuse municipal computers for eight years before "
     "replacing them.")),
    ("environment", "fr", "LHL", ("Interdire les écrans publicitaires numériques dans les "
     "rues.")),
    ("environment", "en", "MHP", ("Report the energy use of every municipal digital service "
     "each year.")),
)
"""(section, language, levels for groups A, B, C, text)."""


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _draw(rng: random.Random, level: str) -> int:
    agree, disagree = LEVELS[level]
    x = rng.random()
    return 1 if x < agree else -1 if x < agree + disagree else 0


Row = dict[str, str | int]
"""One row of ``comments.csv`` or ``votes.csv``: column -> value."""


def generate(seed: int = SEED) -> tuple[list[Row], list[Row]]:
    """(comments, votes) rows of the conversation, as ``write`` puts them in the files."""
    rng = random.Random(seed)
    members = [(str(i + 1), g) for i, g in enumerate(
        g for g, size in GROUPS for _ in range(size))]
    group_index = {g: i for i, (g, _n) in enumerate(GROUPS)}
    plan = load_plan(sample_plan_paths())
    titles = {key: " / ".join(t[lang] for lang in ("fr", "en")) for key, t, _b in plan.sections}
    statements = [(f"s-{key}", key, "section", levels, titles[key], START)
                  for key, levels in SECTIONS]
    for n, (key, _lang, levels, text) in enumerate(REPLIES):
        when = START + timedelta(hours=1 + n * 96 / len(REPLIES))
        statements.append((str(n + 1), key, "reply", levels, text, when))
    comments: list[Row] = []
    votes: list[Row] = []
    for cid, key, role, levels, text, when in statements:
        best = max(range(len(GROUPS)), key=lambda i: LEVELS[levels[i]][0] - LEVELS[levels[i]][1])
        authors = [p for p, g in members if group_index[g] == best]
        author = "" if role == "section" else rng.choice(authors)
        cast: list[Row] = []
        for participant, group in members:
            if rng.random() >= SEEN:
                continue
            vote = _draw(rng, levels[group_index[group]])
            at = when + timedelta(minutes=rng.uniform(5, 6 * 24 * 60 - (when - START)
                                                      .total_seconds() / 60))
            cast.append({"timestamp": _millis(at), "datetime": at.isoformat(),
                         "comment-id": cid, "voter-id": participant, "vote": vote})
        comments.append({
            "timestamp": _millis(when), "datetime": when.isoformat(), "comment-id": cid,
            "author-id": author, "agrees": sum(v["vote"] == 1 for v in cast),
            "disagrees": sum(v["vote"] == -1 for v in cast), "moderated": 1,
            "comment-body": text, "section": key, "role": role})
        votes += cast
    votes.sort(key=lambda v: (int(v["timestamp"]), str(v["comment-id"]), str(v["voter-id"])))
    return comments, votes


def write(folder: Path, seed: int = SEED) -> None:
    """Write ``comments.csv`` and ``votes.csv`` of :func:`generate` into ``folder`` (through
    ``bot.files``: owner-only, formula-safe cells)."""
    private_dir(folder)
    comments, votes = generate(seed)
    for name, rows in (("comments.csv", comments), ("votes.csv", votes)):
        write_csv(folder / name, list(rows[0]), [list(r.values()) for r in rows],
                  lineterminator="\n")


if __name__ == "__main__":
    write(Path(sys.argv[1]))
