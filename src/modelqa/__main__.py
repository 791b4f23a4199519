from modelqa.cli.main import run

run()
