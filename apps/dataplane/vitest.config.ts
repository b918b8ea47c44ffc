import { meshcaVitestConfig } from '@meshca/test-support/vitest-config'

export default meshcaVitestConfig({ report: 'dataplane' })
