# The Wireflame agent image (what the DaemonSet runs): the CLI, its BPF object
# and its libbpf addon. Run it privileged (or with CAP_BPF, CAP_PERFMON,
# CAP_SYS_ADMIN for bpffs), with /sys/fs/bpf and /sys/kernel/btf mounted.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/wireflame
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# vmlinux.h comes from the build host's BTF; CO-RE relocations make the object
# run on any kernel that has BTF.
RUN make -C bpf clean all && make -C agent clean all && npm prune --omit=dev

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/wireflame /opt/wireflame
ENTRYPOINT ["/opt/wireflame/node_modules/node/bin/node", "/opt/wireflame/bin/wireflame.js"]
CMD ["agent", "--all"]
