"""The options of ``mdi export folders`` (each field is a command-line flag)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Mapping, Optional

import attrs

Mode = Literal["copy", "move", "hardlink", "symlink", "reflink"]
#: Modes that write new files, so rendering boxes on them is possible.
RENDERABLE_MODES = ("copy", "reflink")


def _unit(instance, attribute, value) -> None:
    """Thresholds are confidences: between 0 and 1."""
    values = value.values() if isinstance(value, Mapping) else [value]
    for v in values:
        if v is not None and not 0.0 <= v <= 1.0:
            raise ValueError(f"--{attribute.name.replace('_', '-')}: {v} is not between 0 and 1")


def _positive(instance, attribute, value) -> None:
    if value < 0:
        raise ValueError(f"--{attribute.name.replace('_', '-')}: must be 0 or more, got {value}")


def _threshold(help_text: str):
    return attrs.field(default=None, validator=_unit, metadata={"help": help_text, "metavar": "T"})


@attrs.frozen
class FoldersOptions:
    images: Path = attrs.field(metadata={
        "help": "folder the results' image paths are relative to", "metavar": "IMAGE_ROOT"})
    out: Path = attrs.field(metadata={
        "help": "output folder (sorted subfolders and the journal go here)", "metavar": "OUTPUT_ROOT"})
    mode: Mode = attrs.field(default="copy", metadata={
        "help": "copy; move (undo with `mdi folders undo`); hardlink (same filesystem); symlink "
                "(absolute links to the originals); reflink (copy-on-write clone where the "
                "filesystem supports it, else a copy, and the report says so)"})
    threshold: Optional[float] = _threshold(
        "default threshold for every category (default: from the results file's "
        "detector_metadata, else the model version, else 0.2)")
    animal_threshold: Optional[float] = _threshold("threshold for 'animal' (default: --threshold)")
    person_threshold: Optional[float] = _threshold("threshold for 'person' (default: --threshold)")
    vehicle_threshold: Optional[float] = _threshold("threshold for 'vehicle' (default: --threshold)")
    category_threshold: Mapping[str, float] = attrs.field(factory=dict, validator=_unit, metadata={
        "help": "threshold for any category by name, e.g. --category-threshold animal=0.3",
        "metavar": "NAME=T"})
    species: Mapping[str, float] = attrs.field(factory=dict, validator=_unit, metadata={
        "help": "split animals/ by species: NAME=T for each species that gets its own folder "
                "(classification confidence > T); others go to animals/multiple or "
                "animals/unclassified. Names as in classification_categories",
        "metavar": "NAME=T"})
    unlisted_species_threshold: float = attrs.field(default=0.5, validator=_unit, metadata={
        "help": "a species not named in --species counts (sending the image to "
                "animals/multiple beside a named one) above this confidence", "metavar": "T"})
    skip_empty: bool = attrs.field(default=False, metadata={
        "help": "leave empty images out (processing failures are still sorted)"})
    dry_run: bool = attrs.field(default=False, metadata={
        "help": "print the plan and the counts per folder; change nothing"})
    strict: bool = attrs.field(default=False, metadata={
        "help": "change nothing when any image is missing, refused or blocked by a different file"})
    render_boxes: bool = attrs.field(default=False, metadata={
        "help": "draw boxes on the sorted copies (copy/reflink modes only; originals untouched)"})
    blur_people: bool = attrs.field(default=False, metadata={
        "help": "blur people on the sorted copies (copy/reflink modes only)"})
    box_labels: bool = attrs.field(default=False, metadata={
        "help": "with --render-boxes, write category (and species) and confidence by each box"})
    line_thickness: int = attrs.field(default=8, validator=_positive, metadata={
        "help": "box line width in pixels", "metavar": "PX"})
    box_expansion: int = attrs.field(default=3, validator=_positive, metadata={
        "help": "grow each box by this many pixels", "metavar": "PX"})
    workers: int = attrs.field(default=0, validator=_positive, metadata={
        "help": "threads copying files; 0 chooses: threads for big files, and for 1,000 or more "
                "small ones a second process (twice as fast on two cores); 1: one process, one thread",
        "metavar": "N"})

    @property
    def renders(self) -> bool:
        return self.render_boxes or self.blur_people
