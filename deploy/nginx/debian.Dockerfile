# The load balancer of compose.yaml built from Debian's nginx package instead of the official nginx
# image, for machines that cannot pull images (scripts/docker-smoke builds it with docker-here, whose only
# base image is a Debian 12 stand-in for python:3.11-slim). Same configuration file, in the same place.
#   docker build -f deploy/nginx/debian.Dockerfile -t convlens-lb deploy/nginx
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx=1.22.* \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && ln -sf /dev/stdout /var/log/nginx/access.log \
 && ln -sf /dev/stderr /var/log/nginx/error.log

COPY convlens.conf /etc/nginx/conf.d/convlens.conf

EXPOSE 8080
# SIGQUIT: nginx finishes the requests in flight, then stops
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
