# One image for every service; docker-compose picks the command.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# Pango and a font for WeasyPrint (the docs service's PDFs). Not pinned: the
# slim base's Debian release fixes them, and a pin would break at each point release.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY constraints.txt ./
COPY shared ./shared
COPY services ./services
COPY plugins ./plugins
RUN pip install --no-cache-dir -c constraints.txt ./shared ./services/plans ./services/scheduler \
        ./services/notify ./services/docs ./services/returns ./services/web ./plugins/england ./plugins/bromley ./plugins/greenwich ./plugins/guernsey ./plugins/scotland \
        ./plugins/wales ./plugins/northern_ireland \
    && useradd --system --no-create-home --uid 10001 --user-group cpp \
    && mkdir -p /var/lib/cpp/web /var/lib/cpp/audit-checkpoints && chown cpp /var/lib/cpp/web /var/lib/cpp/audit-checkpoints
# The volumes the cpp user writes (a new volume takes the folder's owner): the
# web application's sessions, and the services' signed audit checkpoints. The
# user's id is fixed (10001, group 10001) and named by number, so that
# Kubernetes' runAsNonRoot can check it and deploy/kubernetes runs as the same.
USER 10001:10001
EXPOSE 5000 5001 5002 5003 5004 5005
