from expressway.cli.main import app

app()
