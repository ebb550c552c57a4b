# One image for every service; docker-compose picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Pango and a font for WeasyPrint (the docs service's PDFs).
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY constraints.txt ./
COPY shared ./shared
COPY services ./services
COPY plugins ./plugins
RUN pip install --no-cache-dir -c constraints.txt ./shared ./services/plans ./services/scheduler \
        ./services/notify ./services/docs ./services/web ./plugins/england ./plugins/bromley ./plugins/greenwich ./plugins/guernsey ./plugins/scotland \
        ./plugins/wales ./plugins/northern_ireland \
    && useradd --system --no-create-home cpp \
    && mkdir -p /var/lib/cpp/web /var/lib/cpp/audit-checkpoints && chown cpp /var/lib/cpp/web /var/lib/cpp/audit-checkpoints
# The volumes the cpp user writes (a new volume takes the folder's owner): the
# web application's sessions, and the services' signed audit checkpoints.
USER cpp
EXPOSE 5000 5001 5002 5003 5004 5005
