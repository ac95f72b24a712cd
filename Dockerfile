FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ledger ./ledger
COPY projections ./projections
RUN pip install --no-cache-dir .
ENTRYPOINT []
CMD ["ledger", "--help"]
