/**
 * `envoy.transport_sockets.tls`: TLS for a listener's filter chain (`DownstreamTlsContext`)
 * or a cluster's upstream connections (`UpstreamTlsContext`).
 *
 * Main thread (config load). One factory takes both messages and tells the side by the
 * config's `@type`. It applies Envoy's defaults (TLS 1.2 minimum on both sides; 1.2
 * maximum for clients, 1.3 for servers) and makes the structural checks Envoy's context
 * configs make, but reads no file: certificates named by path may be generated after
 * validation. Envoy counterpart: `DownstreamSslSocketFactory` / `UpstreamSslSocketFactory`
 * (`source/extensions/transport_sockets/tls/config.cc`), `ServerContextConfigImpl`,
 * `ClientContextConfigImpl`, `TlsCertificateConfigImpl` and
 * `CertificateValidationContextConfigImpl`. Envoy registers the two under the categories
 * `envoy.transport_sockets.downstream` / `.upstream`; the decoder records every
 * `TransportSocket` under `envoy.transport_sockets`.
 */

import { durationMs } from '../../../config/durations.ts';
import type { PathStep } from '../../../config/errors.ts';
import {
  at,
  boolField,
  enumField,
  messageField,
  messageList,
  messageTypeOf,
  numberField,
  stringField,
  stringList,
} from '../../../config/proto-fields.ts';
import type { ExtensionContext, ExtensionFactory, ProtoMessage } from '../../../config/types.ts';
import type { DataSource } from '../../common/data-source.ts';
import { dataSourceField, dataSourceOf } from '../../common/data-source.ts';

export const DOWNSTREAM_TLS_CONTEXT = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_CONTEXT = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';

const TLS_PROTOCOLS = ['TLS_AUTO', 'TLSv1_0', 'TLSv1_1', 'TLSv1_2', 'TLSv1_3'] as const;
export type TlsProtocol = Exclude<(typeof TLS_PROTOCOLS)[number], 'TLS_AUTO'>;

const OCSP_STAPLE_POLICIES = ['LENIENT_STAPLING', 'STRICT_STAPLING', 'MUST_STAPLE'] as const;
export type OcspStaplePolicy = (typeof OCSP_STAPLE_POLICIES)[number];

export interface TlsCertificateConfig {
  readonly certificateChain: DataSource | undefined;
  readonly privateKey: DataSource | undefined;
  readonly pkcs12: DataSource | undefined;
  readonly password: DataSource | undefined;
  readonly ocspStaple: DataSource | undefined;
  /** The decoded `PrivateKeyProvider`, as is. */
  readonly privateKeyProvider: ProtoMessage | undefined;
}

export interface TlsParamsConfig {
  readonly minimumProtocolVersion: TlsProtocol;
  readonly maximumProtocolVersion: TlsProtocol;
  /** Empty: the side's default list. */
  readonly cipherSuites: readonly string[];
  readonly ecdhCurves: readonly string[];
  readonly signatureAlgorithms: readonly string[];
}

interface CommonTlsConfig {
  readonly certificates: readonly TlsCertificateConfig[];
  /** `tls_certificate_sds_secret_configs`, decoded, as is. */
  readonly certificateSdsSecretConfigs: readonly ProtoMessage[];
  readonly alpnProtocols: readonly string[];
  /**
   * The decoded `CertificateValidationContext` (from `validation_context`, or the default
   * one of a `combined_validation_context`), as is; undefined: the peer is not verified.
   */
  readonly validationContext: ProtoMessage | undefined;
  /** `validation_context_sds_secret_config` (also from a combined context), as is. */
  readonly validationContextSdsSecretConfig: ProtoMessage | undefined;
  readonly tlsParams: TlsParamsConfig;
  /** `key_log`, as is. */
  readonly keyLog: ProtoMessage | undefined;
}

export interface DownstreamTlsConfig extends CommonTlsConfig {
  readonly side: 'downstream';
  readonly requireClientCertificate: boolean;
  readonly requireSni: boolean;
  readonly sessionTicketKeys: readonly DataSource[];
  readonly disableStatelessSessionResumption: boolean;
  readonly disableStatefulSessionResumption: boolean;
  /** 0: the TLS library's default. */
  readonly sessionTimeoutMs: number;
  readonly ocspStaplePolicy: OcspStaplePolicy;
  readonly fullScanCertsOnSniMismatch: boolean;
}

export interface UpstreamTlsConfig extends CommonTlsConfig {
  readonly side: 'upstream';
  /** '' : no SNI is sent. */
  readonly sni: string;
  readonly allowRenegotiation: boolean;
  readonly maxSessionKeys: number;
  readonly enforceRsaKeyUsage: boolean;
}

export type TlsConfig = DownstreamTlsConfig | UpstreamTlsConfig;

function protocolVersion(params: ProtoMessage | undefined, field: string, dflt: TlsProtocol): TlsProtocol {
  const v = enumField(params, field, TLS_PROTOCOLS, 'TLS_AUTO');
  return v === 'TLS_AUTO' ? dflt : v;
}

/** `TlsCertificateConfigImpl`: which sources may go together. */
function certificateOf(
  cert: ProtoMessage,
  step: PathStep | undefined,
  ctx: ExtensionContext,
): TlsCertificateConfig {
  const config: TlsCertificateConfig = {
    certificateChain: dataSourceField(cert, 'certificate_chain'),
    privateKey: dataSourceField(cert, 'private_key'),
    pkcs12: dataSourceField(cert, 'pkcs12'),
    password: dataSourceField(cert, 'password'),
    ocspStaple: dataSourceField(cert, 'ocsp_staple'),
    privateKeyProvider: messageField(cert, 'private_key_provider'),
  };
  if (config.pkcs12 !== undefined) {
    if (config.certificateChain !== undefined) {
      ctx.error(at(step, 'pkcs12'), "certificate configuration can't have both pkcs12 and certificate_chain");
    }
    if (config.privateKey !== undefined) {
      ctx.error(at(step, 'pkcs12'), "certificate configuration can't have both pkcs12 and private_key");
    }
  } else {
    if (config.privateKey !== undefined && config.privateKeyProvider !== undefined) {
      ctx.error(
        at(step, 'private_key'),
        "certificate configuration can't have both private_key and private_key_provider",
      );
    }
    const hasKey = config.privateKey !== undefined || config.privateKeyProvider !== undefined;
    if (config.certificateChain === undefined || !hasKey) {
      ctx.error(
        step,
        'incomplete certificate: certificate_chain and private_key (or pkcs12) are both required',
      );
    }
  }
  return config;
}

/**
 * `CertificateValidationContextConfigImpl`: without a trusted CA (or a custom validator)
 * the peer's chain is never verified, so settings that depend on that are rejected.
 */
function checkValidationContext(vc: ProtoMessage, step: PathStep | undefined, ctx: ExtensionContext): void {
  const hasCa =
    vc['trusted_ca'] !== undefined ||
    vc['ca_certificate_provider_instance'] !== undefined ||
    vc['system_root_certs'] !== undefined ||
    vc['custom_validator_config'] !== undefined;
  if (hasCa) return;
  if (vc['crl'] !== undefined)
    ctx.error(at(step, 'crl'), 'a CRL cannot be used without a trusted CA (trusted_ca)');
  for (const field of ['match_typed_subject_alt_names', 'match_subject_alt_names']) {
    if (messageList(vc, field).length > 0) {
      ctx.error(
        at(step, field),
        'SAN-based verification of peer certificates without trusted CA is insecure and not allowed',
      );
    }
  }
  if (boolField(vc, 'allow_expired_certificate')) {
    ctx.error(
      at(step, 'allow_expired_certificate'),
      'certificate validity period is always ignored without trusted CA',
    );
  }
}

function commonTlsConfig(
  common: ProtoMessage | undefined,
  step: PathStep | undefined,
  side: 'downstream' | 'upstream',
  ctx: ExtensionContext,
): CommonTlsConfig {
  const certificates = messageList(common, 'tls_certificates').map((c, i) =>
    certificateOf(c, at(step, 'tls_certificates', i), ctx),
  );
  const combined = messageField(common, 'combined_validation_context');
  const validationContext =
    messageField(common, 'validation_context') ?? messageField(combined, 'default_validation_context');
  if (validationContext !== undefined) {
    const vcStep = combined
      ? at(step, 'combined_validation_context', 'default_validation_context')
      : at(step, 'validation_context');
    checkValidationContext(validationContext, vcStep, ctx);
  }
  const params = messageField(common, 'tls_params');
  return {
    certificates,
    certificateSdsSecretConfigs: messageList(common, 'tls_certificate_sds_secret_configs'),
    alpnProtocols: stringList(common, 'alpn_protocols'),
    validationContext,
    validationContextSdsSecretConfig:
      messageField(common, 'validation_context_sds_secret_config') ??
      messageField(combined, 'validation_context_sds_secret_config'),
    tlsParams: {
      minimumProtocolVersion: protocolVersion(params, 'tls_minimum_protocol_version', 'TLSv1_2'),
      maximumProtocolVersion: protocolVersion(
        params,
        'tls_maximum_protocol_version',
        side === 'downstream' ? 'TLSv1_3' : 'TLSv1_2',
      ),
      cipherSuites: stringList(params, 'cipher_suites'),
      ecdhCurves: stringList(params, 'ecdh_curves'),
      signatureAlgorithms: stringList(params, 'signature_algorithms'),
    },
    keyLog: messageField(common, 'key_log'),
  };
}

function downstreamConfig(m: ProtoMessage, ctx: ExtensionContext): DownstreamTlsConfig {
  const common = messageField(m, 'common_tls_context');
  const commonStep = at(ctx.step, 'common_tls_context');
  const base = commonTlsConfig(common, commonStep, 'downstream', ctx);
  // ServerContextConfigImpl: a server needs a certificate from somewhere.
  if (
    base.certificates.length === 0 &&
    base.certificateSdsSecretConfigs.length === 0 &&
    common?.['tls_certificate_provider_instance'] === undefined &&
    common?.['tls_certificate_certificate_provider'] === undefined &&
    common?.['tls_certificate_certificate_provider_instance'] === undefined
  ) {
    ctx.error(commonStep, 'no TLS certificates found for server context');
  }
  const ticketKeys = messageField(m, 'session_ticket_keys');
  return {
    side: 'downstream',
    ...base,
    requireClientCertificate: boolField(m, 'require_client_certificate'),
    requireSni: boolField(m, 'require_sni'),
    sessionTicketKeys: messageList(ticketKeys, 'keys').map(dataSourceOf),
    disableStatelessSessionResumption: boolField(m, 'disable_stateless_session_resumption'),
    disableStatefulSessionResumption: boolField(m, 'disable_stateful_session_resumption'),
    sessionTimeoutMs: durationMs(m['session_timeout'], 0),
    ocspStaplePolicy: enumField(m, 'ocsp_staple_policy', OCSP_STAPLE_POLICIES, 'LENIENT_STAPLING'),
    fullScanCertsOnSniMismatch: boolField(m, 'full_scan_certs_on_sni_mismatch'),
  };
}

function upstreamConfig(m: ProtoMessage, ctx: ExtensionContext): UpstreamTlsConfig {
  const commonStep = at(ctx.step, 'common_tls_context');
  const base = commonTlsConfig(messageField(m, 'common_tls_context'), commonStep, 'upstream', ctx);
  // ClientContextConfigImpl: a client presents at most one certificate.
  if (base.certificates.length > 1) {
    ctx.error(
      at(commonStep, 'tls_certificates'),
      'multiple TLS certificates are not supported for client contexts',
    );
  }
  return {
    side: 'upstream',
    ...base,
    sni: stringField(m, 'sni'),
    allowRenegotiation: boolField(m, 'allow_renegotiation'),
    maxSessionKeys: numberField(m, 'max_session_keys', 1),
    enforceRsaKeyUsage: boolField(m, 'enforce_rsa_key_usage'),
  };
}

export const tlsTransportSocketFactory: ExtensionFactory<TlsConfig> = {
  name: 'envoy.transport_sockets.tls',
  category: 'envoy.transport_sockets',
  configTypes: [DOWNSTREAM_TLS_CONTEXT, UPSTREAM_TLS_CONTEXT],
  createConfig(m, ctx) {
    const type = messageTypeOf(m);
    if (type === DOWNSTREAM_TLS_CONTEXT) return downstreamConfig(m, ctx);
    if (type === UPSTREAM_TLS_CONTEXT) return upstreamConfig(m, ctx);
    throw new Error(`bug: the TLS factory was given a ${type}`);
  },
};
