"""Write small archive seeds for fuzz_archive into tests/fuzz/corpus/archive
(zip, tar, tar.gz, gzip, bzip2, xz, a nested zip, an encoded value): run
once; the files are committed. No key-like content: placeholders only."""
import bz2
import gzip
import io
import lzma
import os
import tarfile
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus",
                   "archive")
TEXT = b"API_KEY=your-key-here\nVALUE: c2stcGxhY2Vob2xkZXI=\n"


def zip_bytes(members):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return bio.getvalue()


def tar_bytes(mode):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode) as t:
        info = tarfile.TarInfo("etc/app.env")
        info.size = len(TEXT)
        t.addfile(info, io.BytesIO(TEXT))
    return bio.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "a.zip": zip_bytes({"app/.env": TEXT, "../up.txt": TEXT}),
        "nested.zip": zip_bytes({"in.zip": zip_bytes({"x.env": TEXT})}),
        "a.tar": tar_bytes("w"),
        "a.tar.gz": tar_bytes("w:gz"),
        "a.gz": gzip.compress(TEXT),
        "a.bz2": bz2.compress(TEXT),
        "a.xz": lzma.compress(TEXT),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
