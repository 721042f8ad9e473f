from relenc.cli import main

main()
