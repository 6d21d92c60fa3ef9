"""`fcn-ablation-vgg16-stand-in PATH`: a random VGG16 in torchvision's format, where `init.path` can point (tests, rehearsals)."""

from __future__ import annotations

import sys

from fcn_ablation.models.vgg16 import write_stand_in


def main() -> None:
    print(write_stand_in(sys.argv[1] if len(sys.argv) > 1 else "vgg16-stand-in.pth"))


if __name__ == "__main__":
    main()
