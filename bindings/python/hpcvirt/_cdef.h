typedef enum hv_json_flags {
    HV_JSON_COMPACT = 0,
    HV_JSON_PRETTY = 1
} hv_json_flags;
 void hv_free(void *ptr);
 const char *hv_version(void);
 int hv_version_numbers(int *major, int *minor, int *patch);
typedef enum hv_error_code {
    HV_OK = 0,
    HV_E_INVAL = -1,
    HV_E_NOMEM = -2,
    HV_E_IO = -3,
    HV_E_PARSE = -4,
    HV_E_SPEC = -5,
    HV_E_PLAN = -6,
    HV_E_UNSUPPORTED = -7,
    HV_E_NOTFOUND = -8,
    HV_E_EXISTS = -9,
    HV_E_STATE = -10,
    HV_E_BACKEND = -11,
    HV_E_NOKVM = -12,
    HV_E_GUEST = -13,
    HV_E_SNAPSHOT = -14,
    HV_E_MIGRATION = -15,
    HV_E_TIMEOUT = -16,
    HV_E_PERM = -17,
    HV_E_RANGE = -18,
    HV_E_INTERNAL = -99
} hv_error_code;
typedef struct hv_error hv_error;
 const hv_error *hv_error_last(void);
 void hv_error_clear(void);
 int hv_error_code_of(const hv_error *err);
 const char *hv_error_message(const hv_error *err);
 const char *hv_error_path(const hv_error *err);
 int hv_error_report(int code, const char *path, const char *fmt, ...) ;
 const char *hv_strerror(int code);
 const char *hv_error_code_name(int code);
typedef enum hv_log_level {
    HV_LOG_ERROR = 1,
    HV_LOG_WARNING = 2,
    HV_LOG_INFO = 3,
    HV_LOG_DEBUG = 4
} hv_log_level;
typedef void (*hv_log_handler)(int level, const char *domain, const char *message, void *userdata);
 int hv_set_log_handler(hv_log_handler handler, int max_level, void *userdata);
 int hv_size_parse(const char *text, uint64_t *bytes);
 int hv_size_format(uint64_t bytes, char *buf, size_t size);
typedef enum hv_severity {
    HV_SEVERITY_INFO = 1,
    HV_SEVERITY_WARNING = 2,
    HV_SEVERITY_ERROR = 3
} hv_severity;
typedef struct hv_finding hv_finding;
 int hv_finding_severity(const hv_finding *finding);
 const char *hv_severity_name(int severity);
 const char *hv_finding_code(const hv_finding *finding);
 const char *hv_finding_path(const hv_finding *finding);
 const char *hv_finding_message(const hv_finding *finding);
typedef struct hv_host hv_host;
typedef struct hv_host_cpu hv_host_cpu;
typedef struct hv_host_node hv_host_node;
typedef struct hv_accelerator hv_accelerator;
typedef struct hv_pci_bar hv_pci_bar;
typedef struct hv_rdma_device hv_rdma_device;
typedef struct hv_rdma_port hv_rdma_port;
typedef struct hv_rdma_gid hv_rdma_gid;
typedef enum hv_host_skip {
    HV_HOST_SKIP_PCI = 1 << 0,
    HV_HOST_SKIP_RDMA = 1 << 1,
    HV_HOST_SKIP_LIBNUMA = 1 << 2
} hv_host_skip;
typedef struct hv_host_discover_options {
    unsigned int version;
    const char *root;
    unsigned int skip;
    const char *profile;
} hv_host_discover_options;
 int hv_host_discover_options_init(hv_host_discover_options *opts, unsigned int version);
 int hv_host_discover(hv_host **host, const hv_host_discover_options *opts);
 int hv_host_from_json(const char *json, hv_host **host);
 int hv_host_to_json(const hv_host *host, unsigned int flags, char **json);
 void hv_host_free(hv_host *host);
 const char *hv_host_root(const hv_host *host);
 const char *hv_host_profile(const hv_host *host);
 const char *hv_host_cpu_model(const hv_host *host);
 const char *hv_host_cpu_vendor(const hv_host *host);
 unsigned int hv_host_cpu_count(const hv_host *host);
 unsigned int hv_host_core_count(const hv_host *host);
 unsigned int hv_host_package_count(const hv_host *host);
 unsigned int hv_host_die_count(const hv_host *host);
 unsigned int hv_host_threads_per_core(const hv_host *host);
 unsigned int hv_host_phys_addr_bits(const hv_host *host);
 unsigned int hv_host_virt_addr_bits(const hv_host *host);
 bool hv_host_has_1g_pages(const hv_host *host);
 uint64_t hv_host_base_frequency_khz(const hv_host *host);
 const hv_host_cpu *hv_host_cpu_at(const hv_host *host, size_t index);
 const hv_host_cpu *hv_host_cpu_by_id(const hv_host *host, unsigned int cpu_id);
 unsigned int hv_host_cpu_id(const hv_host_cpu *cpu);
 int hv_host_cpu_package(const hv_host_cpu *cpu);
 int hv_host_cpu_die(const hv_host_cpu *cpu);
 int hv_host_cpu_core(const hv_host_cpu *cpu);
 int hv_host_cpu_node(const hv_host_cpu *cpu);
 uint64_t hv_host_memory_bytes(const hv_host *host);
 uint64_t hv_host_memory_available_bytes(const hv_host *host);
 bool hv_host_node_memory_consistent(const hv_host *host);
 size_t hv_host_node_count(const hv_host *host);
 const hv_host_node *hv_host_node_at(const hv_host *host, size_t index);
 const hv_host_node *hv_host_node_by_id(const hv_host *host, int node_id);
 int hv_host_node_id(const hv_host_node *node);
 const char *hv_host_node_cpulist(const hv_host_node *node);
 unsigned int hv_host_node_cpu_count(const hv_host_node *node);
 unsigned int hv_host_node_core_count(const hv_host_node *node);
 uint64_t hv_host_node_memory_bytes(const hv_host_node *node);
 uint64_t hv_host_node_free_bytes(const hv_host_node *node);
 int hv_host_node_distance(const hv_host_node *node, int to_node_id);
 size_t hv_host_node_hugepage_size_count(const hv_host_node *node);
 uint64_t hv_host_node_hugepage_size_at(const hv_host_node *node, size_t index);
 int hv_host_node_hugepages(const hv_host_node *node, uint64_t page_bytes, uint64_t *total,
                                     uint64_t *free_pages);
typedef enum hv_accelerator_kind_code {
    HV_ACCELERATOR_GPU = 1,
    HV_ACCELERATOR_FPGA = 2,
    HV_ACCELERATOR_OTHER = 3
} hv_accelerator_kind_code;
typedef hv_accelerator_kind_code
    hv_accelerator_kind_t ;
 const char *hv_accelerator_kind_name(int kind);
 size_t hv_host_accelerator_count(const hv_host *host);
 const hv_accelerator *hv_host_accelerator_at(const hv_host *host, size_t index);
 const hv_accelerator *hv_host_accelerator_by_address(const hv_host *host,
                                                               const char *pci_address);
 const char *hv_accelerator_pci_address(const hv_accelerator *acc);
 unsigned int hv_accelerator_vendor_id(const hv_accelerator *acc);
 unsigned int hv_accelerator_device_id(const hv_accelerator *acc);
 unsigned int hv_accelerator_subsystem_vendor_id(const hv_accelerator *acc);
 unsigned int hv_accelerator_subsystem_device_id(const hv_accelerator *acc);
 unsigned int hv_accelerator_class_code(const hv_accelerator *acc);
 int hv_accelerator_kind(const hv_accelerator *acc);
 const char *hv_accelerator_model(const hv_accelerator *acc);
 const char *hv_accelerator_model_id(const hv_accelerator *acc);
 const char *hv_accelerator_vendor_name(const hv_accelerator *acc);
 int hv_accelerator_numa_node(const hv_accelerator *acc);
 const char *hv_accelerator_local_cpulist(const hv_accelerator *acc);
 int hv_accelerator_iommu_group(const hv_accelerator *acc);
 const char *hv_accelerator_iommu_group_members(const hv_accelerator *acc);
 const char *hv_accelerator_driver(const hv_accelerator *acc);
 const char *hv_accelerator_link_speed(const hv_accelerator *acc);
 unsigned int hv_accelerator_link_width(const hv_accelerator *acc);
 const char *hv_accelerator_max_link_speed(const hv_accelerator *acc);
 unsigned int hv_accelerator_max_link_width(const hv_accelerator *acc);
 unsigned int hv_accelerator_sriov_total_vfs(const hv_accelerator *acc);
 unsigned int hv_accelerator_sriov_enabled_vfs(const hv_accelerator *acc);
 size_t hv_accelerator_mdev_type_count(const hv_accelerator *acc);
 const char *hv_accelerator_mdev_type_id(const hv_accelerator *acc, size_t index);
 const char *hv_accelerator_mdev_type_name(const hv_accelerator *acc, size_t index);
 int hv_accelerator_mdev_type_available(const hv_accelerator *acc, size_t index);
 size_t hv_accelerator_bar_count(const hv_accelerator *acc);
 const hv_pci_bar *hv_accelerator_bar_at(const hv_accelerator *acc, size_t index);
 uint64_t hv_accelerator_bar_total_bytes(const hv_accelerator *acc);
 unsigned int hv_pci_bar_index(const hv_pci_bar *bar);
 uint64_t hv_pci_bar_start(const hv_pci_bar *bar);
 uint64_t hv_pci_bar_size_bytes(const hv_pci_bar *bar);
 bool hv_pci_bar_is_64bit(const hv_pci_bar *bar);
 bool hv_pci_bar_is_prefetchable(const hv_pci_bar *bar);
 bool hv_pci_bar_is_io(const hv_pci_bar *bar);
typedef enum hv_rdma_link_layer {
    HV_RDMA_LINK_UNKNOWN = 0,
    HV_RDMA_LINK_INFINIBAND = 1,
    HV_RDMA_LINK_ETHERNET = 2
} hv_rdma_link_layer;
typedef enum hv_rdma_gid_type_code {
    HV_RDMA_GID_UNKNOWN = 0,
    HV_RDMA_GID_IB_ROCE_V1 = 1,
    HV_RDMA_GID_ROCE_V2 = 2
} hv_rdma_gid_type_code;
typedef hv_rdma_gid_type_code hv_rdma_gid_type_t ;
 size_t hv_host_rdma_count(const hv_host *host);
 const hv_rdma_device *hv_host_rdma_at(const hv_host *host, size_t index);
 const char *hv_rdma_device_name(const hv_rdma_device *dev);
 const char *hv_rdma_device_node_type(const hv_rdma_device *dev);
 const char *hv_rdma_device_fw_version(const hv_rdma_device *dev);
 const char *hv_rdma_device_node_guid(const hv_rdma_device *dev);
 const char *hv_rdma_device_pci_address(const hv_rdma_device *dev);
 int hv_rdma_device_numa_node(const hv_rdma_device *dev);
 unsigned int hv_rdma_device_sriov_total_vfs(const hv_rdma_device *dev);
 unsigned int hv_rdma_device_sriov_enabled_vfs(const hv_rdma_device *dev);
 size_t hv_rdma_device_vf_count(const hv_rdma_device *dev);
 const char *hv_rdma_device_vf_at(const hv_rdma_device *dev, size_t index);
 size_t hv_rdma_device_port_count(const hv_rdma_device *dev);
 const hv_rdma_port *hv_rdma_device_port_at(const hv_rdma_device *dev, size_t index);
 unsigned int hv_rdma_port_number(const hv_rdma_port *port);
 const char *hv_rdma_port_state(const hv_rdma_port *port);
 const char *hv_rdma_port_phys_state(const hv_rdma_port *port);
 const char *hv_rdma_port_rate(const hv_rdma_port *port);
 unsigned int hv_rdma_port_rate_gbps(const hv_rdma_port *port);
 int hv_rdma_port_link_layer(const hv_rdma_port *port);
 unsigned int hv_rdma_port_active_mtu(const hv_rdma_port *port);
 const char *hv_rdma_port_netdev(const hv_rdma_port *port);
 size_t hv_rdma_port_gid_count(const hv_rdma_port *port);
 const hv_rdma_gid *hv_rdma_port_gid_at(const hv_rdma_port *port, size_t index);
 unsigned int hv_rdma_gid_index(const hv_rdma_gid *gid);
 const char *hv_rdma_gid_text(const hv_rdma_gid *gid);
 int hv_rdma_gid_type(const hv_rdma_gid *gid);
 const char *hv_rdma_gid_type_name(int type);
 const char *hv_rdma_gid_netdev(const hv_rdma_gid *gid);
 size_t hv_host_finding_count(const hv_host *host);
 const hv_finding *hv_host_finding_at(const hv_host *host, size_t index);
typedef struct hv_freq_sample hv_freq_sample;
typedef struct hv_freq_sample_options {
    unsigned int version;
    unsigned int interval_ms;
    const char *cpulist;
} hv_freq_sample_options;
 int hv_freq_sample_options_init(hv_freq_sample_options *opts, unsigned int version);
 int hv_host_sample_frequency(const hv_host *host, const hv_freq_sample_options *opts,
                                       hv_freq_sample **sample);
 size_t hv_freq_sample_count(const hv_freq_sample *sample);
 unsigned int hv_freq_sample_cpu(const hv_freq_sample *sample, size_t index);
 double hv_freq_sample_ratio(const hv_freq_sample *sample, size_t index);
 double hv_freq_sample_effective_mhz(const hv_freq_sample *sample, size_t index);
 const char *hv_freq_sample_source(const hv_freq_sample *sample);
 void hv_freq_sample_free(hv_freq_sample *sample);
 size_t hv_profile_count(void);
 const char *hv_profile_name_at(size_t index);
 const char *hv_profile_description(const char *name);
 int hv_profile_limit(const char *name, const char *key, uint64_t *value);
typedef struct hv_vm_spec hv_vm_spec;
typedef enum hv_firmware {
    HV_FIRMWARE_AUTO = 0,
    HV_FIRMWARE_BIOS = 1,
    HV_FIRMWARE_EFI = 2
} hv_firmware;
typedef enum hv_vnuma_policy {
    HV_VNUMA_BALANCED = 0,
    HV_VNUMA_VSPHERE = 1
} hv_vnuma_policy;
typedef enum hv_page_size {
    HV_PAGE_SIZE_AUTO = 0,
    HV_PAGE_SIZE_4K = 1,
    HV_PAGE_SIZE_2M = 2,
    HV_PAGE_SIZE_1G = 3
} hv_page_size;
typedef enum hv_cpu_placement {
    HV_CPU_PLACEMENT_SHARED = 0,
    HV_CPU_PLACEMENT_DEDICATED = 1
} hv_cpu_placement;
typedef enum hv_accelerator_mode {
    HV_ACCEL_MODE_PASSTHROUGH = 0,
    HV_ACCEL_MODE_VGPU = 1,
    HV_ACCEL_MODE_FPGA = 2
} hv_accelerator_mode;
typedef enum hv_nic_rss {
    HV_NIC_RSS_TCP = 1 << 0,
    HV_NIC_RSS_UDP = 1 << 1,
    HV_NIC_RSS_ESP = 1 << 2
} hv_nic_rss;
typedef enum hv_nic_tunnel {
    HV_NIC_TUNNEL_VXLAN = 1 << 0,
    HV_NIC_TUNNEL_GENEVE = 1 << 1
} hv_nic_tunnel;
typedef enum hv_rdma_protocol {
    HV_RDMA_ROCE_V2 = 0,
    HV_RDMA_ROCE_V1 = 1,
    HV_RDMA_INFINIBAND = 2
} hv_rdma_protocol;
typedef enum hv_rdma_mode {
    HV_RDMA_MODE_PVRDMA = 0,
    HV_RDMA_MODE_SRIOV = 1,
    HV_RDMA_MODE_PASSTHROUGH = 2
} hv_rdma_mode;
typedef enum hv_disk_format { HV_DISK_FORMAT_RAW = 0, HV_DISK_FORMAT_QCOW2 = 1 } hv_disk_format;
typedef enum hv_disk_bus {
    HV_DISK_BUS_VIRTIO = 0,
    HV_DISK_BUS_SCSI = 1,
    HV_DISK_BUS_SATA = 2
} hv_disk_bus;
 int hv_vm_spec_new(hv_vm_spec **spec);
 int hv_vm_spec_from_json(const char *json, hv_vm_spec **spec);
 int hv_vm_spec_to_json(const hv_vm_spec *spec, unsigned int flags, char **json);
 int hv_vm_spec_copy(const hv_vm_spec *spec, hv_vm_spec **copy);
 void hv_vm_spec_free(hv_vm_spec *spec);
 int hv_vm_spec_set_name(hv_vm_spec *spec, const char *name);
 int hv_vm_spec_set_vcpus(hv_vm_spec *spec, unsigned int vcpus);
 int hv_vm_spec_set_memory_bytes(hv_vm_spec *spec, uint64_t memory_bytes);
 int hv_vm_spec_set_firmware(hv_vm_spec *spec, int firmware);
 int hv_vm_spec_set_topology(hv_vm_spec *spec, unsigned int cores_per_socket,
                                      unsigned int threads_per_core);
 int hv_vm_spec_set_vnuma_policy(hv_vm_spec *spec, int policy);
 int hv_vm_spec_set_vnuma_auto(hv_vm_spec *spec);
 int hv_vm_spec_add_vnuma_node(hv_vm_spec *spec, unsigned int vcpus,
                                        uint64_t memory_bytes);
 int hv_vm_spec_set_prefer_ht(hv_vm_spec *spec, bool prefer_ht);
 int hv_vm_spec_set_page_size(hv_vm_spec *spec, int page_size);
 int hv_vm_spec_set_cpu_placement(hv_vm_spec *spec, int placement);
 int hv_vm_spec_add_accelerator(hv_vm_spec *spec, const char *pci_address, int mode,
                                         const char *mdev_type);
 int hv_vm_spec_add_accelerator_model(hv_vm_spec *spec, const char *model,
                                               unsigned int count, int mode, const char *mdev_type);
 int hv_vm_spec_add_nic(hv_vm_spec *spec, const char *model, unsigned int queues,
                                 unsigned int rss_flags, unsigned int tunnel_flags);
 int hv_vm_spec_add_rdma(hv_vm_spec *spec, int protocol, int mode, unsigned int mtu);
 int hv_vm_spec_add_disk(hv_vm_spec *spec, const char *path, int format, int bus,
                                  bool read_only, const char *serial, uint64_t size_bytes);
 int hv_vm_spec_set_guest_phys_bits(hv_vm_spec *spec, int bits);
 int hv_vm_spec_set_profile(hv_vm_spec *spec, const char *profile);
 const char *hv_vm_spec_name(const hv_vm_spec *spec);
 unsigned int hv_vm_spec_vcpus(const hv_vm_spec *spec);
 uint64_t hv_vm_spec_memory_bytes(const hv_vm_spec *spec);
 const char *hv_vm_spec_profile(const hv_vm_spec *spec);
typedef struct hv_plan hv_plan;
typedef struct hv_plan_vnode hv_plan_vnode;
typedef struct hv_plan_device hv_plan_device;
typedef struct hv_plan_options {
    unsigned int version;
    const char *profile;
} hv_plan_options;
 int hv_plan_options_init(hv_plan_options *opts, unsigned int version);
 int hv_plan_create(const hv_host *host, const hv_vm_spec *spec,
                             const hv_plan_options *opts, hv_plan **plan);
 void hv_plan_free(hv_plan *plan);
 int hv_plan_to_json(const hv_plan *plan, unsigned int flags, char **json);
 bool hv_plan_ok(const hv_plan *plan);
 size_t hv_plan_finding_count(const hv_plan *plan);
 const hv_finding *hv_plan_finding_at(const hv_plan *plan, size_t index);
 const hv_vm_spec *hv_plan_spec(const hv_plan *plan);
 const char *hv_plan_profile(const hv_plan *plan);
 int hv_plan_firmware(const hv_plan *plan);
 unsigned int hv_plan_vcpus(const hv_plan *plan);
 uint64_t hv_plan_memory_bytes(const hv_plan *plan);
 unsigned int hv_plan_sockets(const hv_plan *plan);
 unsigned int hv_plan_cores_per_socket(const hv_plan *plan);
 unsigned int hv_plan_threads_per_core(const hv_plan *plan);
 int hv_plan_cpu_placement(const hv_plan *plan);
 int hv_plan_vnuma_policy(const hv_plan *plan);
 bool hv_plan_needs_iommu_eim(const hv_plan *plan);
 size_t hv_plan_vnuma_node_count(const hv_plan *plan);
 const hv_plan_vnode *hv_plan_vnuma_node_at(const hv_plan *plan, size_t index);
 int hv_plan_vnuma_distance(const hv_plan *plan, size_t i, size_t j);
 unsigned int hv_plan_vnode_id(const hv_plan_vnode *node);
 unsigned int hv_plan_vnode_vcpu_count(const hv_plan_vnode *node);
 const char *hv_plan_vnode_vcpus(const hv_plan_vnode *node);
 uint64_t hv_plan_vnode_memory_bytes(const hv_plan_vnode *node);
 int hv_plan_vnode_host_node(const hv_plan_vnode *node);
 uint64_t hv_plan_vnode_page_bytes(const hv_plan_vnode *node);
 uint64_t hv_plan_vnode_page_count(const hv_plan_vnode *node);
 const char *hv_plan_vnode_host_cpus(const hv_plan_vnode *node);
 int hv_plan_vcpu_pin(const hv_plan *plan, unsigned int vcpu);
 const char *hv_plan_emulator_cpus(const hv_plan *plan);
 uint64_t hv_plan_mmio_bar_total_bytes(const hv_plan *plan);
 uint64_t hv_plan_mmio_window_bytes(const hv_plan *plan);
 uint64_t hv_plan_mmio_window_base(const hv_plan *plan);
 uint64_t hv_plan_mmio_low_ram_bytes(const hv_plan *plan);
 uint64_t hv_plan_mmio_high_ram_bytes(const hv_plan *plan);
 uint64_t hv_plan_mmio_hole32_used_bytes(const hv_plan *plan);
 unsigned int hv_plan_guest_phys_bits_required(const hv_plan *plan);
 unsigned int hv_plan_guest_phys_bits(const hv_plan *plan);
 bool hv_plan_guest_phys_bits_passthrough(const hv_plan *plan);
 unsigned int hv_plan_host_phys_bits(const hv_plan *plan);
 bool hv_plan_mmio_feasible(const hv_plan *plan);
typedef enum hv_plan_device_type {
    HV_PLAN_DEVICE_ACCELERATOR = 1,
    HV_PLAN_DEVICE_NIC = 2,
    HV_PLAN_DEVICE_RDMA = 3
} hv_plan_device_type;
 size_t hv_plan_device_count(const hv_plan *plan);
 const hv_plan_device *hv_plan_device_at(const hv_plan *plan, size_t index);
 int hv_plan_device_type_of(const hv_plan_device *dev);
 const char *hv_plan_device_spec_path(const hv_plan_device *dev);
 const char *hv_plan_device_pci_address(const hv_plan_device *dev);
 int hv_plan_device_mode(const hv_plan_device *dev);
 const char *hv_plan_device_model(const hv_plan_device *dev);
 const char *hv_plan_device_mdev_type(const hv_plan_device *dev);
 int hv_plan_device_host_node(const hv_plan_device *dev);
 int hv_plan_device_vnode(const hv_plan_device *dev);
 unsigned int hv_plan_device_queues(const hv_plan_device *dev);
 unsigned int hv_plan_device_mtu(const hv_plan_device *dev);
 const char *hv_plan_device_rdma_name(const hv_plan_device *dev);
 unsigned int hv_plan_device_rdma_port(const hv_plan_device *dev);
 int hv_plan_device_rdma_protocol(const hv_plan_device *dev);
 unsigned int hv_plan_device_rss_flags(const hv_plan_device *dev);
 unsigned int hv_plan_device_tunnel_flags(const hv_plan_device *dev);
 uint64_t hv_plan_device_bar_total_bytes(const hv_plan_device *dev);
 bool hv_plan_live_migratable(const hv_plan *plan);
 size_t hv_plan_migration_reason_count(const hv_plan *plan);
 const char *hv_plan_migration_reason_at(const hv_plan *plan, size_t index);
typedef struct hv_conn hv_conn;
typedef struct hv_vm hv_vm;
 int hv_conn_open(const char *uri, hv_conn **conn);
 void hv_conn_close(hv_conn *conn);
 const char *hv_conn_uri(const hv_conn *conn);
 const char *hv_conn_backend(const hv_conn *conn);
 int hv_conn_host(hv_conn *conn, hv_host **host);
 int hv_conn_list_vms(hv_conn *conn, char ***names, size_t *count);
 void hv_strv_free(char **strings, size_t count);
typedef enum hv_vm_state_code {
    HV_VM_STATE_UNKNOWN = 0,
    HV_VM_STATE_DEFINED = 1,
    HV_VM_STATE_RUNNING = 2,
    HV_VM_STATE_PAUSED = 3,
    HV_VM_STATE_SUSPENDED = 4,
    HV_VM_STATE_STOPPING = 5,
    HV_VM_STATE_CRASHED = 6,
    HV_VM_STATE_EXITED = 7
} hv_vm_state_code;
typedef hv_vm_state_code hv_vm_state_t ;
 const char *hv_vm_state_name(int state);
typedef enum hv_vm_create_flags {
    HV_VM_CREATE_START = 1 << 0
} hv_vm_create_flags;
typedef void (*hv_vm_console_fn)(void *data, const char *bytes, size_t length);
typedef void (*hv_vm_progress_fn)(void *data, unsigned int vcpu, uint32_t marker);
typedef struct hv_vm_create_options {
    unsigned int version;
    unsigned int flags;
    const char *backend_options;
    const char *payload;
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
} hv_vm_create_options;
 int hv_vm_create_options_init(hv_vm_create_options *opts, unsigned int version);
 int hv_vm_create(hv_conn *conn, const hv_plan *plan, const hv_vm_create_options *opts,
                           hv_vm **vm);
 int hv_vm_lookup(hv_conn *conn, const char *name, hv_vm **vm);
 void hv_vm_free(hv_vm *vm);
 const char *hv_vm_name(const hv_vm *vm);
 int hv_vm_start(hv_vm *vm);
 int hv_vm_pause(hv_vm *vm);
 int hv_vm_resume(hv_vm *vm);
 int hv_vm_stop(hv_vm *vm, unsigned int timeout_ms);
 int hv_vm_destroy(hv_vm *vm);
 int hv_vm_undefine(hv_vm *vm);
 int hv_vm_state(hv_vm *vm, int *state);
 int hv_vm_wait(hv_vm *vm, int timeout_ms, int *exit_code);
 int hv_vm_exit_code(hv_vm *vm, int *exit_code);
 int hv_vm_console_read(hv_vm *vm, char *buf, size_t size, size_t *length);
typedef enum hv_vm_stat_id {
    HV_VM_STAT_EXITS = 0,
    HV_VM_STAT_EXITS_IO = 1,
    HV_VM_STAT_EXITS_MMIO = 2,
    HV_VM_STAT_EXITS_INTR = 3,
    HV_VM_STAT_EXITS_OTHER = 4,
    HV_VM_STAT_GUEST_NS = 5,
    HV_VM_STAT_WALL_NS = 6,
    HV_VM_STAT_CONSOLE_BYTES = 7,
    HV_VM_STAT_PROGRESS = 8,
    HV_VM_STAT_COUNT = 9
} hv_vm_stat_id;
 const char *hv_vm_stat_name(int stat);
 int hv_vm_stat(hv_vm *vm, int stat, uint64_t *value);
 int hv_vm_progress(hv_vm *vm, unsigned int vcpu, uint32_t *marker, uint64_t *count);
typedef struct hv_vm_memory_info {
    unsigned int version;
    uint64_t guest_base;
    uint64_t bytes;
    uint64_t page_bytes;
    int host_node;
    bool bound;
    bool thp_requested;
    uint64_t thp_bytes;
    uint64_t resident_bytes;
    uint64_t host_node_bytes;
    uint64_t other_node_bytes;
} hv_vm_memory_info;
 int hv_vm_memory_info_init(hv_vm_memory_info *info, unsigned int version);
 int hv_vm_memory_node_count(hv_vm *vm, size_t *count);
 int hv_vm_memory_node_info(hv_vm *vm, size_t node, hv_vm_memory_info *info);
typedef enum hv_vm_suspend_flags {
    HV_VM_SUSPEND_KEEP_RUNNING = 1 << 0
} hv_vm_suspend_flags;
typedef struct hv_vm_suspend_options {
    unsigned int version;
    unsigned int flags;
} hv_vm_suspend_options;
 int hv_vm_suspend_options_init(hv_vm_suspend_options *opts, unsigned int version);
 int hv_vm_suspend(hv_vm *vm, const char *path, const hv_vm_suspend_options *opts);
typedef enum hv_vm_resume_flags {
    HV_VM_RESUME_PAUSED = 1 << 0,
    HV_VM_RESUME_EAGER = 1 << 1
} hv_vm_resume_flags;
typedef struct hv_vm_resume_options {
    unsigned int version;
    unsigned int flags;
    const char *name;
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
} hv_vm_resume_options;
 int hv_vm_resume_options_init(hv_vm_resume_options *opts, unsigned int version);
 int hv_vm_resume_from(hv_conn *conn, const char *path, const hv_vm_resume_options *opts,
                                hv_vm **vm);
typedef enum hv_vm_clone_mode {
    HV_VM_CLONE_INSTANT = 0,
    HV_VM_CLONE_FULL = 1,
    HV_VM_CLONE_COLD = 2,
    HV_VM_CLONE_LINKED = 3
} hv_vm_clone_mode;
typedef enum hv_vm_clone_flags {
    HV_VM_CLONE_PAUSED = 1 << 0
} hv_vm_clone_flags;
typedef void (*hv_vm_clone_progress_fn)(void *data, size_t done, size_t total);
typedef struct hv_vm_clone_options {
    unsigned int version;
    unsigned int flags;
    int mode;
    unsigned int threads;
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_clone_progress_fn progress;
    void *progress_data;
    const char *const *names;
    const char *name_pattern;
    const char *const *identities;
} hv_vm_clone_options;
 int hv_vm_clone_options_init(hv_vm_clone_options *opts, unsigned int version);
 int hv_vm_clone(hv_vm *parent, size_t count, const hv_vm_clone_options *opts,
                          hv_vm **clones);
 int hv_vm_clone_prepare(hv_vm *parent, size_t count);
 int hv_vm_clone_identity(hv_vm *vm, uint64_t *clone_id, uint64_t *clone_index);
 int hv_vm_managed_save(hv_vm *vm);
 int hv_vm_has_managed_save(hv_vm *vm, bool *has);
 int hv_vm_snapshot_create(hv_vm *vm, const char *name);
 int hv_vm_snapshot_revert(hv_vm *vm, const char *name);
 int hv_vm_snapshot_delete(hv_vm *vm, const char *name);
 int hv_vm_snapshot_list(hv_vm *vm, char ***names, size_t *count);
typedef enum hv_migrate_flags {
    HV_MIGRATE_OFFLINE = 1 << 0,
    HV_MIGRATE_FAIL_UNCONVERGED = 1 << 1,
    HV_MIGRATE_THROTTLE = 1 << 2
} hv_migrate_flags;
typedef struct hv_migrate_progress {
    unsigned int round;
    bool stopped;
    uint64_t memory_bytes;
    uint64_t bytes_sent;
    uint64_t remaining_bytes;
    uint64_t dirty_bytes_per_s;
    uint64_t bandwidth_bytes_per_s;
    uint64_t expected_downtime_ns;
    unsigned int throttle_percent;
} hv_migrate_progress;
typedef int (*hv_migrate_progress_fn)(const hv_migrate_progress *progress, void *data);
typedef struct hv_migrate_stats {
    uint64_t total_ns;
    uint64_t downtime_ns;
    uint64_t bytes_sent;
    uint64_t pages_sent;
    uint64_t zero_pages;
    unsigned int rounds;
} hv_migrate_stats;
typedef struct hv_migrate_options {
    unsigned int version;
    unsigned int flags;
    uint64_t bandwidth_mib_per_s;
    unsigned int max_downtime_ms;
    const void *key;
    size_t key_bytes;
    unsigned int max_rounds;
    unsigned int timeout_ms;
    hv_migrate_stats *stats;
    hv_migrate_progress_fn progress;
    void *progress_data;
} hv_migrate_options;
 int hv_migrate_options_init(hv_migrate_options *opts, unsigned int version);
 int hv_vm_migrate(hv_vm *vm, const char *dest, const hv_migrate_options *opts);
typedef enum hv_migrate_incoming_flags {
    HV_MIGRATE_INCOMING_PAUSED = 1 << 0
} hv_migrate_incoming_flags;
typedef struct hv_migrate_incoming_options {
    unsigned int version;
    unsigned int flags;
    const void *key;
    size_t key_bytes;
    unsigned int
        timeout_ms;
    const char *name;
    hv_vm_console_fn console;
    void *console_data;
    hv_vm_progress_fn progress;
    void *progress_data;
    const int *host_nodes;
    size_t host_node_count;
} hv_migrate_incoming_options;
 int hv_migrate_incoming_options_init(hv_migrate_incoming_options *opts,
                                               unsigned int version);
 int hv_vm_migrate_incoming(hv_conn *conn, const char *source,
                                     const hv_migrate_incoming_options *opts, hv_vm **vm);
typedef struct hv_backend {
    unsigned int version;
    const char *name;
    const char *scheme;
    int (*open)(const char *uri, void **conn_data);
    void (*close)(void *conn_data);
    int (*host)(void *conn_data, hv_host **host);
    int (*list_vms)(void *conn_data, char ***names, size_t *count);
    int (*vm_create)(void *conn_data, const hv_plan *plan, const hv_vm_create_options *opts,
                     void **vm_data);
    int (*vm_lookup)(void *conn_data, const char *name, void **vm_data);
    void (*vm_release)(void *vm_data);
    const char *(*vm_name)(void *vm_data);
    int (*vm_start)(void *vm_data);
    int (*vm_pause)(void *vm_data);
    int (*vm_resume)(void *vm_data);
    int (*vm_stop)(void *vm_data, unsigned int timeout_ms);
    int (*vm_destroy)(void *vm_data);
    int (*vm_undefine)(void *vm_data);
    int (*vm_state)(void *vm_data, int *state);
    int (*vm_suspend)(void *vm_data, const char *path, unsigned int flags);
    int (*vm_resume_from)(void *conn_data, const char *path, unsigned int flags, void **vm_data);
    int (*vm_managed_save)(void *vm_data);
    int (*vm_has_managed_save)(void *vm_data, bool *has);
    int (*vm_snapshot_create)(void *vm_data, const char *name);
    int (*vm_snapshot_revert)(void *vm_data, const char *name);
    int (*vm_snapshot_delete)(void *vm_data, const char *name);
    int (*vm_snapshot_list)(void *vm_data, char ***names, size_t *count);
    int (*vm_migrate)(void *vm_data, const char *dest, const hv_migrate_options *opts);
    int (*vm_wait)(void *vm_data, int timeout_ms, int *exit_code);
    int (*vm_exit_code)(void *vm_data, int *exit_code);
    int (*vm_console_read)(void *vm_data, char *buf, size_t size, size_t *length);
    int (*vm_stat)(void *vm_data, int stat, uint64_t *value);
    int (*vm_progress)(void *vm_data, unsigned int vcpu, uint32_t *marker, uint64_t *count);
    int (*vm_memory_node_count)(void *vm_data, size_t *count);
    int (*vm_memory_info)(void *vm_data, size_t node, hv_vm_memory_info *info);
    int (*vm_restore)(void *conn_data, const char *path, const hv_vm_resume_options *opts,
                      void **vm_data);
    int (*vm_clone)(void *vm_data, size_t count, const hv_vm_clone_options *opts,
                    void **clones_data);
    int (*vm_clone_prepare)(void *vm_data, size_t count);
    int (*vm_clone_identity)(void *vm_data, uint64_t *clone_id, uint64_t *clone_index);
    int (*vm_migrate_incoming)(void *conn_data, const char *source,
                               const hv_migrate_incoming_options *opts, void **vm_data);
} hv_backend;
 int hv_backend_register(const hv_backend *backend);
 int hv_backend_unregister(const char *name);
 size_t hv_backend_count(void);
 const char *hv_backend_name_at(size_t index);
 int hv_backend_load_plugins(const char *dir);
typedef struct hv_libvirt_xml_options {
    unsigned int version;
    const char *domain_type;
    const char *network;
    const char *console_log;
} hv_libvirt_xml_options;
 int hv_libvirt_xml_options_init(hv_libvirt_xml_options *opts, unsigned int version);
 int hv_plan_to_libvirt_xml(const hv_plan *plan, const hv_libvirt_xml_options *opts,
                                     char **xml);
 int hv_host_from_libvirt_capabilities(const char *xml, hv_host **host);
