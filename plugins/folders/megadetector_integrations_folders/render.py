"""Boxes and blurred people on the sorted copies (Pillow). Originals are only read.

Like MegaDetector's tool: boxes of each category reaching its own threshold,
people blurred when at or above the person threshold; EXIF is kept (JPEG
quality tables too), orientation is applied first so boxes land where
MegaDetector saw them. IPTC/XMP in the original are not carried over.
"""

from __future__ import annotations

import os

from .transfer import publish

COLORS = {"animal": (255, 140, 0), "person": (30, 144, 255), "vehicle": (220, 20, 60)}
OTHER_COLOR = (50, 205, 50)
BLUR_RADIUS_FRACTION = 0.08  # of the box's longer side


class Renderer:
    """Draws with the run's options; category names and thresholds come from its folder rules."""

    def __init__(self, options, rules):
        self.options = options
        self.rules = rules

    def render(self, image, src: str, dst: str, tmp: str) -> None:
        """Draw ``image``'s boxes onto a copy of ``src``, written atomically to ``dst``."""
        from PIL import Image as PILImage
        from PIL import ImageOps

        with PILImage.open(src) as original:
            fmt = original.format
            save_args = _save_args(original)
            picture = ImageOps.exif_transpose(original)
            picture = picture.convert("RGB") if picture.mode not in ("RGB", "L") else picture.copy()
        shown = self._shown(image)
        if self.options.blur_people:
            self._blur(picture, [d for name, d in shown if name == "person"])
        if self.options.render_boxes:
            self._draw(picture, shown)
        exif = picture.getexif()
        if exif:
            save_args["exif"] = exif.tobytes()
        st = os.stat(src)
        try:
            with open(tmp, "wb") as fh:  # a leftover of a killed run is ours
                picture.save(fh, format=fmt, **save_args)
            os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        except BaseException:
            os.unlink(tmp)
            raise
        publish(tmp, dst)

    def _shown(self, image) -> list:
        """(category name, detection) for each box at or above its category's threshold."""
        rules = self.rules
        out = []
        for d in image.detections or ():
            name = rules.name_of.get(d.category)
            if name is not None and d.conf >= rules.threshold_of[name]:
                out.append((name, d))
        return out

    def _pixels(self, d, size) -> tuple[int, int, int, int]:
        w, h = size
        e = self.options.box_expansion
        x, y, bw, bh = d.bbox
        return (max(0, round(x * w) - e), max(0, round(y * h) - e),
                min(w, round((x + bw) * w) + e), min(h, round((y + bh) * h) + e))

    def _blur(self, picture, detections) -> None:
        from PIL import ImageFilter

        for d in detections:
            box = self._pixels(d, picture.size)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            region = picture.crop(box)
            radius = max(2, int(max(region.size) * BLUR_RADIUS_FRACTION))
            picture.paste(region.filter(ImageFilter.GaussianBlur(radius)), box)

    def _draw(self, picture, shown) -> None:
        from PIL import ImageDraw

        draw = ImageDraw.Draw(picture)
        for name, d in shown:
            box = self._pixels(d, picture.size)
            color = COLORS.get(name, OTHER_COLOR) if picture.mode == "RGB" else 255
            draw.rectangle(box, outline=color, width=self.options.line_thickness)
            if self.options.box_labels:
                draw.text((box[0] + self.options.line_thickness, box[1] + self.options.line_thickness),
                          self._label(name, d), fill=color)

    def _label(self, name: str, d) -> str:
        label = f"{name} {d.conf:.0%}"
        if d.classifications:
            class_id, conf = d.classifications[0]
            label += f" {self.rules.class_name_of.get(class_id, class_id)} {conf:.0%}"
        return label


def _save_args(original) -> dict:
    """Keep JPEG quality (its quantization tables and subsampling) and the colour profile."""
    args: dict = {}
    if original.format == "JPEG":
        from PIL import JpegImagePlugin

        args["qtables"] = original.quantization
        sampling = JpegImagePlugin.get_sampling(original)
        if sampling != -1:
            args["subsampling"] = sampling
    if original.info.get("icc_profile"):
        args["icc_profile"] = original.info["icc_profile"]
    return args
