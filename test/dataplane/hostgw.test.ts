import { trafficSuite } from './traffic';

trafficSuite('host-gateway');
