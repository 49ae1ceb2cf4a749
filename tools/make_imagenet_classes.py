#!/usr/bin/env python3
"""Write the 1000 ImageNet-1k class names, one per line in class-index order (line i+1 is
class i), UTF-8, '\\n' line endings, to
tasks/src/main/resources/dev/hourglass/tasks/imagenet-1k.txt.

    /usr/bin/python3 tools/make_imagenet_classes.py [--out PATH]

The names come from the installed torchvision (the same list its ImageNet weights carry in
meta["categories"]); nothing is downloaded.
"""
import argparse
import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tasks", "src", "main", "resources", "dev", "hourglass", "tasks",
                           "imagenet-1k.txt")


def categories():
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
        return list(_IMAGENET_CATEGORIES)
    except ImportError:  # private module moved: fall back to a weights enum's metadata
        from torchvision.models import ResNet50_Weights
        return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    names = categories()
    assert len(names) == 1000, len(names)
    assert all(n and "\n" not in n and n == n.strip() for n in names)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(names) + "\n")
    print(f"wrote {len(names)} names to {args.out} ({len(set(names))} distinct)")


if __name__ == "__main__":
    main()
