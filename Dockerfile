# planbot's image: multi-stage, only the runtime dependencies (pinned by
# requirements/constraints.txt), run as an unprivileged user. See docs/deploy.md.
#   docker build -t planbot .   then   docker compose up -d   (compose.yaml)

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY requirements/constraints.txt requirements/constraints.txt
COPY bot bot
COPY integrations integrations
COPY storage storage
# tests/planbot_install_test.py runs this same install in a fresh virtual environment.
RUN python -m venv /opt/planbot \
 && /opt/planbot/bin/pip install --no-cache-dir -c requirements/constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/planbot --no-create-home planbot \
 && mkdir -p /var/lib/planbot && chown planbot:planbot /var/lib/planbot
COPY --from=build /opt/planbot /opt/planbot
ENV PATH=/opt/planbot/bin:$PATH \
    PLANBOT_HOME=/var/lib/planbot \
    PYTHONUNBUFFERED=1 \
    LOG_FORMAT=json
USER planbot
WORKDIR /var/lib/planbot
VOLUME ["/var/lib/planbot"]
# 3000: Slack's HTTP mode (SLACK_MODE=http); 9100: /healthz and /metrics (HEALTH_PORT=9100).
EXPOSE 3000 9100
ENTRYPOINT ["planbot"]
CMD ["run"]
