from fcn_ablation.cli import main

main()
