// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs the Reflect metadata
// API at import time. Every core module that touches x509 imports this file first.
import 'reflect-metadata'
