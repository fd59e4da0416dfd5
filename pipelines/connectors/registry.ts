// Source kinds and the connector each one uses. Keyed by kind, so the compiler flags a kind with no
// connector; there is no switch on kind anywhere else.

import type { SourceKind } from '../../core/config.ts';
import { esrConnector } from '../esr/esrConnector.ts';
import { fhirBulkConnector } from '../fhir-bulk/bulkConnector.ts';
import { fhirBulkFilesConnector } from '../fhir-bulk/filesConnector.ts';
import { hl7v2Connector } from '../hl7v2/hl7Connector.ts';
import type { ConnectorFactory } from './connector.ts';

export const connectors: { [K in SourceKind]: ConnectorFactory<K> } = {
  'fhir-bulk': fhirBulkConnector,
  'fhir-bulk-files': fhirBulkFilesConnector,
  hl7v2: hl7v2Connector,
  esr: esrConnector,
};
