from fcn_ablation.commands.train import main

main()
