# Every mistake dockui lint knows, one per line where possible (see tests/integration/test_lint_hadolint.py).
FROM python
ENV DB_PASSWORD=hunter2
ARG GITHUB_TOKEN
RUN apt-get update
RUN apt-get install -y build-essential curl
RUN cd /app && echo built > /app/built.txt
ADD . /app
RUN pip install -r /app/requirements.txt
RUN apk add curl
USER root
CMD python app.py
