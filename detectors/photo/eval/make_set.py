#!/usr/bin/python3
"""Build the labelled evaluation set for the photo detector.

Usage: /usr/bin/python3 detectors/photo/eval/make_set.py OUTDIR [--cards N]

Needs Debian's python3-skimage (sample photographs) and python3-pil:
    apt-get install python3-skimage python3-pil fonts-dejavu-core

Writes OUTDIR/labels.csv (path,group,transform,kind) and the images:
  * photos: every natural photograph in skimage's sample data, whole and as
    four quadrant crops (distinct originals), each saved as JPEG q92
    ("orig") and transformed: jpeg_q40, resize_50, crop_5, bright_+20,
    bright_-20, text_overlay, to_png (the same pixels as PNG) and
    png_to_jpeg (PNG original re-encoded as JPEG q75);
  * ktp: N synthetic KTP cards of distinct people on one printed template
    (same layout, colours, field labels; different portrait, NIK, name,
    address), with the same transformations.

Everything is deterministic (seeded), so the set can be rebuilt anywhere.
"""
import csv
import io
import os
import random
import sys

from PIL import Image, ImageDraw, ImageEnhance, ImageFont
import numpy as np
import skimage.data as skd

PHOTOS = ["astronaut", "camera", "chelsea", "coffee", "rocket", "immunohistochemistry",
          "hubble_deep_field", "retina", "brick", "grass", "gravel", "moon", "coins",
          "clock", "page", "text", "horse", "colorwheel", "logo"]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def font(size, bold=False):
    try:
        return ImageFont.truetype(FONT_BOLD if bold else FONT, size)
    except OSError:
        return ImageFont.load_default()


def to_rgb(a):
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        a = (255 * (a - a.min()) / max(1e-9, float(a.max() - a.min()))).astype(np.uint8)
    img = Image.fromarray(a)
    if img.mode == "RGBA":
        bg = Image.new("RGB", img.size, (255, 255, 255))
        bg.paste(img, mask=img.split()[3])
        img = bg
    return img.convert("RGB")


def jpeg(img, q):
    b = io.BytesIO()
    img.save(b, "JPEG", quality=q)
    return b.getvalue()


def png(img):
    b = io.BytesIO()
    img.save(b, "PNG")
    return b.getvalue()


def overlay(img, rnd):
    img = img.copy()
    d = ImageDraw.Draw(img)
    w, h = img.size
    f = font(max(12, h // 14), bold=True)
    text = rnd.choice(["CONTOH", "SAMPLE", "COPY", "WhatsApp Image", "Prakerja 2026"])
    d.text((w // 20, h - h // 6), text, fill=(255, 255, 255), font=f, stroke_width=2, stroke_fill=(0, 0, 0))
    return img


def transforms(img, rnd):
    """name -> encoded bytes, extension."""
    w, h = img.size
    out = {
        "orig": (jpeg(img, 92), "jpg"),
        "jpeg_q40": (jpeg(img, 40), "jpg"),
        "resize_50": (jpeg(img.resize((w // 2, h // 2), Image.LANCZOS), 85), "jpg"),
        "crop_5": (jpeg(img.crop((int(w * 0.025), int(h * 0.025), w - int(w * 0.025), h - int(h * 0.025))), 85), "jpg"),
        "bright_+20": (jpeg(ImageEnhance.Brightness(img).enhance(1.2), 85), "jpg"),
        "bright_-20": (jpeg(ImageEnhance.Brightness(img).enhance(0.8), 85), "jpg"),
        "text_overlay": (jpeg(overlay(img, rnd), 85), "jpg"),
        "to_png": (png(Image.open(io.BytesIO(jpeg(img, 92))).convert("RGB")), "png"),
    }
    p = Image.open(io.BytesIO(png(img))).convert("RGB")
    out["png_to_jpeg"] = (jpeg(p, 75), "jpg")
    return out


def photo_originals():
    for name in PHOTOS:
        try:
            img = to_rgb(getattr(skd, name)())
        except Exception as e:  # missing optional data: skip, say so
            print("skip", name, type(e).__name__, file=sys.stderr)
            continue
        if min(img.size) < 256:
            img = img.resize((img.size[0] * 2, img.size[1] * 2), Image.LANCZOS)
        yield name, img
        w, h = img.size
        for i, (x, y) in enumerate([(0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2)]):
            q = img.crop((x, y, x + w // 2, y + h // 2)).resize((w, h), Image.LANCZOS)
            yield f"{name}_q{i}", q


# ---- synthetic KTP cards ----

FIELDS = ["Nama", "Tempat/Tgl Lahir", "Jenis Kelamin", "Alamat", "RT/RW", "Kel/Desa",
          "Kecamatan", "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan", "Berlaku Hingga"]
NAMES = ["BUDI", "SITI", "AGUS", "DEWI", "RINA", "ANDI", "NANANG", "SRI", "JOKO", "PUTRI", "WAHYU", "YANTI",
         "HENDRA", "LESTARI", "RUDI", "FITRI", "EKO", "NUR", "BAMBANG", "INDAH"]
SURN = ["SANTOSO", "RAHAYU", "SETIAWAN", "WIJAYA", "HIDAYAT", "SARI", "PRATAMA", "KURNIAWAN", "SUSANTO",
        "LESTARI", "NUGROHO", "SAPUTRA", "SARFINAL", "HASIBUAN", "SIREGAR", "PANJAITAN"]
PLACES = ["JAKARTA", "BANDUNG", "MEDAN", "PADANG", "SURABAYA", "MAKASSAR", "BUKITTINGGI", "BOGOR"]
JOBS = ["WIRASWASTA", "PELAJAR/MAHASISWA", "KARYAWAN SWASTA", "PETANI/PEKEBUN", "MENGURUS RUMAH TANGGA"]


def template(W, H):
    """The printed card, identical for everyone."""
    card = Image.new("RGB", (W, H))
    px = card.load()
    for y in range(H):
        for x in range(W):
            v = 0.5 + 0.5 * np.sin(x / 23.0) * np.cos(y / 31.0)
            px[x, y] = (int(150 + 40 * x / W + 10 * v), int(200 + 20 * v), int(235 - 10 * y / H))
    d = ImageDraw.Draw(card)
    d.text((W // 2, 18), "PROVINSI DKI JAKARTA", fill=(0, 0, 0), font=font(26, True), anchor="mt")
    d.text((W // 2, 50), "JAKARTA SELATAN", fill=(0, 0, 0), font=font(24, True), anchor="mt")
    d.text((24, 92), "NIK", fill=(0, 0, 0), font=font(26, True))
    for i, f in enumerate(FIELDS):
        d.text((24, 136 + i * 29), f, fill=(0, 0, 0), font=font(17))
        d.text((215, 136 + i * 29), ":", fill=(0, 0, 0), font=font(17))
    return card


def portrait(rnd, w, h):
    p = Image.new("RGB", (w, h), rnd.choice([(200, 30, 30), (30, 60, 200), (210, 40, 40), (40, 80, 190)]))
    d = ImageDraw.Draw(p)
    skin = tuple(int(c * rnd.uniform(0.75, 1.1)) for c in (200, 160, 120))
    cloth = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
    fw, fh = w * rnd.uniform(0.42, 0.6), h * rnd.uniform(0.38, 0.5)
    cx, cy = w / 2 + rnd.uniform(-0.08, 0.08) * w, h * rnd.uniform(0.36, 0.46)
    d.ellipse((cx - w * 0.55, cy + fh * 0.45, cx + w * 0.55, h * 1.4), fill=cloth)  # shoulders
    d.rectangle((cx - fw * 0.18, cy + fh * 0.3, cx + fw * 0.18, cy + fh * 0.75), fill=skin)  # neck
    hair = tuple(rnd.randrange(20, 90) for _ in range(3))
    if rnd.random() < 0.5:  # headscarf
        d.ellipse((cx - fw * 0.75, cy - fh * 0.75, cx + fw * 0.75, cy + fh * 0.9),
                  fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    else:
        d.ellipse((cx - fw * 0.6, cy - fh * 0.68, cx + fw * 0.6, cy + fh * rnd.uniform(0.0, 0.4)), fill=hair)
    d.ellipse((cx - fw / 2, cy - fh / 2, cx + fw / 2, cy + fh / 2), fill=skin)
    ey = cy - fh * rnd.uniform(0.02, 0.12)
    for sx in (-1, 1):
        ex = cx + sx * fw * rnd.uniform(0.16, 0.24)
        d.ellipse((ex - 5, ey - 3, ex + 5, ey + 3), fill=(30, 20, 20))
    my = cy + fh * rnd.uniform(0.2, 0.3)
    d.line((cx - fw * 0.15, my, cx + fw * 0.15, my), fill=(120, 40, 40), width=3)
    # texture: hair strands, skin shading, camera noise
    a = np.asarray(p).astype(np.float32)
    a += np.random.default_rng(rnd.randrange(1 << 30)).normal(0, 6, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def ktp_card(rnd, tmpl):
    W, H = tmpl.size
    card = tmpl.copy()
    d = ImageDraw.Draw(card)
    nik = "31" + "".join(str(rnd.randrange(10)) for _ in range(14))
    d.text((95, 90), ": " + nik, fill=(0, 0, 0), font=font(28, True))
    vals = [f"{rnd.choice(NAMES)} {rnd.choice(SURN)}",
            f"{rnd.choice(PLACES)}, {rnd.randrange(1, 29):02d}-{rnd.randrange(1, 13):02d}-{rnd.randrange(1960, 2006)}",
            rnd.choice(["LAKI-LAKI", "PEREMPUAN"]),
            f"JL. {rnd.choice(SURN)} NO. {rnd.randrange(1, 200)}",
            f"{rnd.randrange(1, 20):03d}/{rnd.randrange(1, 15):03d}",
            rnd.choice(["KEBAYORAN", "CILANDAK", "TEBET", "PANCORAN", "MAMPANG"]),
            rnd.choice(["KEBAYORAN BARU", "CILANDAK", "TEBET", "PANCORAN"]),
            rnd.choice(["ISLAM", "KRISTEN", "KATOLIK", "HINDU", "BUDDHA"]),
            rnd.choice(["BELUM KAWIN", "KAWIN", "CERAI HIDUP"]),
            rnd.choice(JOBS), "WNI", "SEUMUR HIDUP"]
    for i, v in enumerate(vals):
        d.text((228, 136 + i * 29), v, fill=(0, 0, 0), font=font(17))
    # portrait area: x 0.70-0.95, y 0.22-0.74 of the card
    pw, ph = int(W * 0.25), int(H * 0.52)
    card.paste(portrait(rnd, pw, ph), (int(W * 0.70), int(H * 0.22)))
    d.text((int(W * 0.825), int(H * 0.78)), "JAKARTA SELATAN", fill=(0, 0, 0), font=font(13), anchor="mt")
    d.text((int(W * 0.825), int(H * 0.82)), f"{rnd.randrange(1, 29):02d}-{rnd.randrange(1, 13):02d}-2019",
           fill=(0, 0, 0), font=font(13), anchor="mt")
    # signature scribble
    pts = [(int(W * 0.74) + i * 9, int(H * 0.9) + rnd.randrange(-8, 9)) for i in range(14)]
    d.line(pts, fill=(20, 20, 60), width=2)
    return card


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    out = sys.argv[1]
    ncards = 400
    if "--cards" in sys.argv:
        ncards = int(sys.argv[sys.argv.index("--cards") + 1])
    os.makedirs(out, exist_ok=True)
    rnd = random.Random(20260411)
    rows = []

    def save(group, kind, img, only_orig=False):
        os.makedirs(os.path.join(out, kind, group), exist_ok=True)
        for t, (data, ext) in transforms(img, rnd).items():
            if only_orig and t != "orig":
                continue
            rel = os.path.join(kind, group, f"{t}.{ext}")
            with open(os.path.join(out, rel), "wb") as f:
                f.write(data)
            rows.append((rel, group, t, kind))

    for name, img in photo_originals():
        save(name, "photo", img)
    tmpl = template(856, 540)
    for i in range(ncards):
        # every card is a distinct person; transformations for the first 60
        save(f"card{i:04d}", "ktp", ktp_card(rnd, tmpl), only_orig=i >= 60)
    with open(os.path.join(out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "group", "transform", "kind"])
        w.writerows(rows)
    print(f"{len(rows)} images in {out}")


if __name__ == "__main__":
    main()
