/** The agent's own metrics, beside the proxy's: its certificate, rotations, control plane streams. */
import { Counter, Gauge, type Registry } from 'prom-client'

export class AgentMetrics {
  readonly certificateExpiration: Gauge
  readonly rotations: Counter
  readonly streamConnected: Gauge<'stream'>
  readonly configUpdates: Counter

  constructor(registry: Registry) {
    const registers = [registry]
    this.certificateExpiration = new Gauge({
      name: 'meshca_dp_certificate_expiration_timestamp_seconds',
      help: 'When the certificate the data plane serves with expires (Unix seconds); 0 without one.',
      registers,
    })
    this.rotations = new Counter({
      name: 'meshca_dp_certificate_rotations_total',
      help: 'Identities (certificate and trust bundle) received from the control plane and applied.',
      registers,
    })
    this.streamConnected = new Gauge({
      name: 'meshca_dp_control_plane_connected',
      help: '1 while the stream (identity, config) to the control plane is open.',
      labelNames: ['stream'],
      registers,
    })
    this.configUpdates = new Counter({
      name: 'meshca_dp_config_updates_total',
      help: 'Configurations received from the control plane and applied.',
      registers,
    })
    for (const stream of ['identity', 'config']) this.streamConnected.set({ stream }, 0)
    this.certificateExpiration.set(0)
  }
}
