"""`fcn-ablation-vgg16-stand-in [PATH]`: a random VGG16 in torchvision's format, where `init.path` can point (tests, rehearsals)."""

from __future__ import annotations

import argparse

from fcn_ablation.models.vgg16 import write_stand_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write a randomly initialised VGG16 in torchvision's state-dict format, for init.path "
        "where the ImageNet weights cannot be downloaded (tests, rehearsals); prints where it wrote it."
    )
    parser.add_argument("path", nargs="?", default="vgg16-stand-in.pth", help="file to write [vgg16-stand-in.pth]")
    args = parser.parse_args(argv)
    print(write_stand_in(args.path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
