"""`python -m fcn_ablation.evaluate dataset=NAME models=[...]`: `fcn_ablation.commands.evaluate`."""

if __name__ == "__main__":
    from fcn_ablation.commands.evaluate import main

    main()
